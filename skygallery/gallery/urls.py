from django.urls import path

from .pagecache import anonymous_page_cache as cached
from .views import accounts, browse, feeds, products, revolutions, sources

urlpatterns = [
    path("", cached(browse.home), name="home"),
    path("revolutions/", revolutions.revolution_index, name="revolutions"),
    path("revolutions/<int:number>/", cached(revolutions.revolution), name="revolution"),
    path("sources/", cached(sources.source_list), name="sources"),
    path("sources/<str:name>/", cached(sources.source_detail), name="source"),
    path("sources/<str:name>/feed/", feeds.SourceFeed(), name="source-feed"),
    path("products/<str:product_id>/", cached(products.product_detail), name="product"),
    path("products/<str:product_id>/edit/", products.product_edit, name="product-edit"),
    path("products/<str:product_id>/delete/", products.product_delete, name="product-delete"),
    path("products/<str:product_id>/significance.fits", products.product_significance, name="product-significance"),
    path("products/<str:product_id>/plot.json", products.product_plot, name="product-plot"),
    path("feed/", feeds.ProductFeed(), name="feed"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/tokens/", accounts.tokens, name="tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", accounts.token_revoke, name="token-revoke"),
]
