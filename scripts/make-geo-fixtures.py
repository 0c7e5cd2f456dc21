#!/usr/bin/env python3
"""Writes the MaxMind-format (.mmdb) location databases the tests read.

    python3 -m venv /tmp/mmdb && /tmp/mmdb/bin/pip install mmdb-writer==0.2.7
    /tmp/mmdb/bin/python scripts/make-geo-fixtures.py

The files are committed; run this only to change them. The networks are real
public ranges, but what they are mapped to here is made up for the tests: never
read these files as facts about those networks.

city.mmdb — GeoLite2-City layout, used by the API tests:
    81.193.0.0/16   Lisbon, Lisbon, Portugal (PT)
    2a02:8100::/32  Berlin, Land Berlin, Germany (DE)
    185.15.56.0/22  Netherlands (NL), no city or region

layouts.mmdb — one network per record layout usher reads, for geo's unit tests:
    81.193.0.0/16   GeoLite2-City (as above)
    2.16.0.0/16     GeoLite2-Country: France (FR)
    5.0.0.0/16      DB-IP lite city (no geoname ids): Madrid, Madrid, Spain (ES)
    31.0.0.0/16     @ip-location-db city: Olivais, Lisbon, PT ("" for unknowns)
    41.0.0.0/16     @ip-location-db country: ZA
    62.0.0.0/16     registered_country only: Italy (IT)
    77.0.0.0/16     fields of unexpected types beside a lower-case "se"
    88.0.0.0/16     a bare string record: "JP"
    95.0.0.0/16     an empty record
    2001:4860::/32  @ip-location-db city over IPv6: Mountain View, California, US
"""

import os
import sys

from mmdb_writer import MMDBWriter, MmdbF64, MmdbU32
from netaddr import IPSet

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "usher", "tests", "fixtures", "geo")


def names(en, **others):
    return {"en": en, **others}


def place(geoname_id, en, iso_code=None, **others):
    record = {"geoname_id": MmdbU32(geoname_id), "names": names(en, **others)}
    if iso_code:
        record["iso_code"] = iso_code
    return record


def geolite2_city(city, subdivision, country, continent, lat, lon):
    return {
        "city": city,
        "continent": continent,
        "country": country,
        "registered_country": country,
        "location": {
            "accuracy_radius": MmdbU32(50),
            "latitude": MmdbF64(lat),
            "longitude": MmdbF64(lon),
        },
        "subdivisions": [subdivision],
    }


EUROPE = {"code": "EU", "geoname_id": MmdbU32(6255148), "names": names("Europe")}
PORTUGAL = place(2264397, "Portugal", "PT", de="Portugal", pt="Portugal")
LISBON = geolite2_city(
    place(2267057, "Lisbon", pt="Lisboa"),
    place(2267056, "Lisbon", "11", pt="Lisboa"),
    PORTUGAL,
    EUROPE,
    38.7167,
    -9.1333,
)
BERLIN = geolite2_city(
    place(2950159, "Berlin", de="Berlin"),
    place(2950157, "Land Berlin", "BE", de="Berlin"),
    place(2921044, "Germany", "DE", de="Deutschland"),
    EUROPE,
    52.5244,
    13.4105,
)
NETHERLANDS = {
    "continent": EUROPE,
    "country": place(2750405, "Netherlands", "NL", nl="Nederland"),
}


def writer(database_type):
    return MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en"],
        description="usher test fixture (made-up data)",
    )


def write(db, name):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    db.to_db_file(path)
    print(f"wrote {os.path.normpath(path)}", file=sys.stderr)


def city():
    db = writer("GeoLite2-City")
    db.insert_network(IPSet(["81.193.0.0/16"]), LISBON)
    db.insert_network(IPSet(["2a02:8100::/32"]), BERLIN)
    db.insert_network(IPSet(["185.15.56.0/22"]), NETHERLANDS)
    write(db, "city.mmdb")


def layouts():
    db = writer("usher-layouts")
    db.insert_network(IPSet(["81.193.0.0/16"]), LISBON)
    db.insert_network(
        IPSet(["2.16.0.0/16"]),
        {
            "continent": EUROPE,
            "country": place(3017382, "France", "FR", fr="France"),
            "registered_country": place(3017382, "France", "FR", fr="France"),
        },
    )
    db.insert_network(
        IPSet(["5.0.0.0/16"]),
        {
            "city": {"names": names("Madrid", es="Madrid")},
            "continent": {"code": "EU", "names": names("Europe")},
            "country": {
                "is_in_european_union": True,
                "iso_code": "ES",
                "names": names("Spain", es="España"),
            },
            "location": {"latitude": MmdbF64(40.4165), "longitude": MmdbF64(-3.70256)},
            "subdivisions": [{"names": names("Madrid")}],
        },
    )
    flat_city = {
        "city": "Olivais",
        "country_code": "PT",
        "latitude": MmdbF64(38.7699),
        "longitude": MmdbF64(-9.1067),
        "postcode": "",
        "state1": "Lisbon",
        "state2": "",
        "timezone": "",
    }
    db.insert_network(IPSet(["31.0.0.0/16"]), flat_city)
    db.insert_network(IPSet(["41.0.0.0/16"]), {"country_code": "ZA"})
    db.insert_network(
        IPSet(["62.0.0.0/16"]),
        {"registered_country": place(3175395, "Italy", "IT")},
    )
    db.insert_network(
        IPSet(["77.0.0.0/16"]),
        {"city": MmdbU32(42), "state1": ["Stockholm"], "country_code": "se", "country": True},
    )
    db.insert_network(IPSet(["88.0.0.0/16"]), "JP")
    db.insert_network(IPSet(["95.0.0.0/16"]), {})
    db.insert_network(
        IPSet(["2001:4860::/32"]),
        {**flat_city, "city": "Mountain View", "country_code": "US", "state1": "California"},
    )
    write(db, "layouts.mmdb")


if __name__ == "__main__":
    city()
    layouts()
