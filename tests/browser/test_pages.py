"""The gallery as a person uses it, in Chromium: filters, viewers, copy button, sources, revolutions."""
import re

import pytest

pytestmark = pytest.mark.browser


def test_home_filters_by_instrument_and_time(page):
    page.goto("/")
    assert page.locator(".card").count() > 0
    page.select_option("#id_instrument", "isgri")
    page.fill("#id_t1", "2022-10-27T00:00:00")
    page.fill("#id_t2", "2022-10-28T23:59:59.5")
    page.click("button:has-text('Search')")
    page.wait_for_load_state()
    assert "instrument=isgri" in page.url and "t1=2022-10-27T00%3A00%3A00" in page.url  # a permalink
    cards = page.locator(".card")
    assert cards.count() > 0
    for text in cards.all_inner_texts():
        assert "Instrument isgri" in text
        spans = re.findall(r"(\d{4}-\d\d-\d\dT[\d:]{8}) – (\d{4}-\d\d-\d\dT[\d:]{8})", text)
        assert spans and spans[0][1] >= "2022-10-27T00:00:00" and spans[0][0] <= "2022-10-28T23:59:59"


def test_wrong_time_format_is_explained_next_to_the_field(page):
    page.goto("/?t1=2022-10-27")
    error = page.locator(".field.invalid .error")
    assert "ISOT" in error.inner_text()
    assert page.locator("#id_t1").get_attribute("value") == "2022-10-27"
    assert page.locator(".card").count() == 0 and not page.errors


def _open_first(page, query):
    page.goto("/?" + query)
    page.locator(".card h3 a").first.click()
    page.wait_for_load_state()


def test_image_product_shows_js9_with_regions_and_source_table(page):
    _open_first(page, "instrument=isgri&family=image&q=Galactic")
    page.wait_for_selector("body[data-js9-loaded=true]", timeout=30000)
    image = page.evaluate("JS9.GetImage() ? JS9.GetImage().id : null")
    assert image and "significance" in image
    rows = page.locator("#detected tbody tr").count()
    assert rows >= 3
    assert page.evaluate("JS9.GetRegions('all').length") == rows
    assert page.evaluate("JS9.GetScale().scale") == "log"
    names = page.locator("#detected tbody tr td:first-child a")
    href = names.first.get_attribute("href")
    assert href.startswith("/sources/")
    page.locator("#detected thead th", has_text="Name").click()  # sortable
    assert page.locator("#detected thead th", has_text="Name").get_attribute("aria-sort") == "ascending"
    assert not page.errors


@pytest.mark.parametrize("family", ["lightcurve", "spectrum"])
def test_bokeh_plot_renders(page, family):
    _open_first(page, f"instrument=isgri&family={family}")
    page.wait_for_selector("body[data-bokeh-rendered=true]", timeout=30000)
    assert page.evaluate("Bokeh.documents.length") >= 1
    assert page.locator("#bokeh-plot canvas").count() >= 1
    assert not page.errors


def test_copy_parameters_puts_a_parameters_cell_on_the_clipboard(page):
    _open_first(page, "instrument=isgri&family=image")
    expected = page.locator("#parameters").inner_text()
    assert re.search(r"^\w+ = ", expected, re.M)
    page.click("#copy-parameters")
    page.wait_for_function("document.getElementById('copy-status').textContent.length > 0")
    assert page.evaluate("navigator.clipboard.readText()") == expected


def test_source_search_by_alias(page):
    page.goto("/sources/")
    page.fill("#id_q", "tau a")
    page.click("button:has-text('Search')")
    page.wait_for_load_state()
    links = page.locator("table.list tbody td:first-child a")
    assert links.all_inner_texts() == ["Crab"]
    links.first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Crab" and "Tau A" in page.locator("dl.meta").inner_text()
    assert page.locator("h2", has_text="Long-term products").count() == 1


def test_revolution_page(page):
    page.goto("/revolutions/")
    page.fill("#rev", "2565")
    page.click("button:has-text('Show')")
    page.wait_for_load_state()
    assert page.url.endswith("/revolutions/2565/")
    assert "Galactic Center" in page.locator(".observation h3").first.inner_text()
    page.click("nav.tabs >> text=JEM-X1")
    page.wait_for_load_state()
    for text in page.locator(".card").all_inner_texts():
        assert "Instrument jemx1" in text
    page.click("text=← 2564")
    page.wait_for_load_state()
    assert "/revolutions/2564/" in page.url and "instrument=jemx1" in page.url
