"""HTTP only: the app factory, routers, auth dependencies, validation and error rendering."""
