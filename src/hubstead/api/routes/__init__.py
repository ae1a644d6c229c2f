"""HTTP routes, one module per resource. Route paths use the repo-type convertors, registered here."""

from hubstead.api import convertors

convertors.register()
