"""The contracts' and actions' pages, kept as sent under the contracts' data version.

Migration 0007's triggers change `data_versions.contracts` in the transaction of every change
to the tables these pages are computed from: a page asked again costs one indexed row until the
next committed change, by any process (`tdi_kit.dataversions`). Neither list depends on the
caller.
"""

from contracts.models import CONTRACTS
from tdi_kit.dataversions import KeptPages

# A front-end asks a few pages of each list (the first ones, a territory's, a phase's).
PAGES = KeptPages(CONTRACTS, size=128)
