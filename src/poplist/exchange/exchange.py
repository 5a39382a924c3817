"""The export sections of the domains in main (other domains add theirs in their own exchange.py)."""

from poplist.exchange.sections.archives import ArchiveSection
from poplist.exchange.sections.core import accounts, lists, portability
from poplist.exchange.sections.mail import HeldSection, bounces, dkim, filters
from poplist.exchange.sections.sites import SitesSection

sections = [accounts, lists, filters, portability, ArchiveSection(), HeldSection(), dkim, SitesSection(), bounces]
