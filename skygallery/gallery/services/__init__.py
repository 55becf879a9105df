"""Gallery services: all logic behind the REST API, the web pages, the compatibility layer and the CLI."""
