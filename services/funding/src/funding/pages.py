"""The envelopes', allocations' and disbursements' pages, kept as sent under the money's
data version.

Migration 0010's triggers change `data_versions.funding` in the transaction of every change to
the tables these pages are computed from: a page asked again costs one indexed row until the
next committed change, by any process (`tdi_kit.dataversions`). An allocations or
disbursements page is kept apart for each view of the private allocations
(`access.private_scope`): an operator's proposals never reach a page another caller is sent.
"""

from funding.models import MONEY
from tdi_kit.dataversions import KeptPages

# A front-end asks a few pages of each list (the first ones, a territory's, an operator's).
PAGES = KeptPages(MONEY, size=128)
