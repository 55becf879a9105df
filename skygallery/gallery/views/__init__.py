"""Server-rendered pages. Each view validates its query, calls a service and renders a template."""
