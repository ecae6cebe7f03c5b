"""Amazon's selling regions and the marketplaces each one serves.

The SP-API is served per region; "the endpoint is for the same region as
the selling partner" (SP-API Developer Guide, Global applications):

=======  ======================================  ============================
region   production host                         marketplaces
=======  ======================================  ============================
``na``   ``sellingpartnerapi-na.amazon.com``     CA, US, MX, BR
``eu``   ``sellingpartnerapi-eu.amazon.com``     IE, ES, UK, FR, BE, NL, DE, IT,
                                                 SE, ZA, PL, SA, EG, TR, AE, IN
``fe``   ``sellingpartnerapi-fe.amazon.com``     SG, AU, JP
=======  ======================================  ============================

(shared/notes/amazon-sp-api.md §4, endpoints table, from
developer-docs.amazon.com/sp-api/docs/sp-api-endpoints.)

Marketplace ids: the "marketplaceId values" tables of the SP-API Developer
Guide (amzn/selling-partner-api-docs,
guides/en-US/developer-guide/SellingPartnerApiDeveloperGuide.md, [DG] in the
notes) for the 19 marketplaces it lists; the four the endpoints table added
since (IE, BE, ZA, SA) as published on Amazon's "Marketplace IDs" page
(developer-docs.amazon.com/sp-api/docs/marketplace-ids) and used alike by
the public SP-API SDKs.
"""

REGIONS = ("na", "eu", "fe")

REGION_HOSTS = {
    "na": "sellingpartnerapi-na.amazon.com",
    "eu": "sellingpartnerapi-eu.amazon.com",
    "fe": "sellingpartnerapi-fe.amazon.com",
}

# marketplaceId -> (region, country code, site name)
MARKETPLACES = {
    # North America
    "A2EUQ1WTGCTBG2": ("na", "CA", "Amazon.ca"),
    "ATVPDKIKX0DER": ("na", "US", "Amazon.com"),
    "A1AM78C64UM0Y8": ("na", "MX", "Amazon.com.mx"),
    "A2Q3Y263D00KWC": ("na", "BR", "Amazon.com.br"),
    # Europe
    "A28R8C7NBKEWEA": ("eu", "IE", "Amazon.ie"),
    "A1RKKUPIHCS9HS": ("eu", "ES", "Amazon.es"),
    "A1F83G8C2ARO7P": ("eu", "GB", "Amazon.co.uk"),
    "A13V1IB3VIYZZH": ("eu", "FR", "Amazon.fr"),
    "AMEN7PMS3EDWL": ("eu", "BE", "Amazon.com.be"),
    "A1805IZSGTT6HS": ("eu", "NL", "Amazon.nl"),
    "A1PA6795UKMFR9": ("eu", "DE", "Amazon.de"),
    "APJ6JRA9NG5V4": ("eu", "IT", "Amazon.it"),
    "A2NODRKZP88ZB9": ("eu", "SE", "Amazon.se"),
    "AE08WJ6YKNBMC": ("eu", "ZA", "Amazon.co.za"),
    "A1C3SOZRARQ6R3": ("eu", "PL", "Amazon.pl"),
    "A17E79C6D8DWNP": ("eu", "SA", "Amazon.sa"),
    "ARBP9OOSHTCHU": ("eu", "EG", "Amazon.eg"),
    "A33AVAJ2PDY3EV": ("eu", "TR", "Amazon.com.tr"),
    "A2VIGQ35RCS4UG": ("eu", "AE", "Amazon.ae"),
    "A21TJRUUN4KGV": ("eu", "IN", "Amazon.in"),
    # Far East
    "A19VAU5U5O7RUS": ("fe", "SG", "Amazon.sg"),
    "A39IBJ37TRP1C6": ("fe", "AU", "Amazon.com.au"),
    "A1VC38T7YXB528": ("fe", "JP", "Amazon.co.jp"),
}


def region_of(marketplace_id):
    """The region serving a marketplace, or None for an unknown id."""
    entry = MARKETPLACES.get(marketplace_id)
    return entry[0] if entry else None


def check_marketplace(marketplace_id):
    """Raise ValueError unless ``marketplace_id`` is one Amazon documents."""
    if marketplace_id not in MARKETPLACES:
        raise ValueError(
            f"unknown Amazon marketplace id {marketplace_id!r}; one of "
            f"{', '.join(MARKETPLACES)}"
        )


def check_region(region):
    if region not in REGIONS:
        raise ValueError(f"Amazon regions are {', '.join(REGIONS)}, not {region!r}")
    return region
