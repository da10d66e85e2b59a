"""The register's list pages, kept as sent under its data version (`tdi_kit.dataversions`).

The register's counter changes in the transaction of every change to the tables these pages
are computed from (migrations 0006 and 0008): a page asked again costs one indexed row until the
next committed change, by any process. No page here depends on the caller. The territories'
pages are kept apart, with their audiences (`territories.service.PAGES`).
"""

from registry.models import REGISTER
from tdi_kit.dataversions import KeptPages

# The communes' pages (35,000 communes, searched by name) are the many: room for a front-end's
# first pages of every list and a few searches.
PAGES = KeptPages(REGISTER, size=256)
