"""The dashboard's pages, one module per area; each page parses, calls one operation and
renders its model (figures from :mod:`lifetwin.web.charts`)."""
