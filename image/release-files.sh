#!/bin/bash
# release-files.sh - the files a technician receives beside the image: NAME.sha256 (only the
# shipped files: NAME.img.xz and NAME.img.bmap, so `sha256sum -c NAME.sha256` passes on what
# was received) and, with URL_BASE, the Raspberry Pi Imager entry NAME.rpi-imager.json whose
# `url` is absolute (URL_BASE + NAME.img.xz). Called by build.sh; tested by tests/it.
#
# Usage:  image/release-files.sh OUTDIR NAME VERSION "DESCRIPTION OF THE OS"
# Needs:  OUTDIR/NAME.img and OUTDIR/NAME.img.xz (the .img only for extract_size/sha256).
# Env:    URL_BASE=https://host/path/   where NAME.img.xz will be served (https:// only);
#                                       without it no Imager JSON is written (said so).
#         DEVICES="pi5-64bit pi4-64bit" the Imager device tags the image boots
set -euo pipefail
OUT=${1:?usage: release-files.sh OUTDIR NAME VERSION DESCRIPTION}; NAME=${2:?}; VERSION=${3:?}; WHAT=${4:?}
DEVICES=${DEVICES:-pi5-64bit pi4-64bit}
cd "$OUT"
[ -f "$NAME.img" ] && [ -f "$NAME.img.xz" ] || { echo "release-files: $OUT/$NAME.img and .img.xz are needed" >&2; exit 1; }
shipped=("$NAME.img.xz"); [ -f "$NAME.img.bmap" ] && shipped+=("$NAME.img.bmap")
sha256sum "${shipped[@]}" > "$NAME.sha256"
rm -f "$NAME.rpi-imager.json"
if [ -z "${URL_BASE:-}" ]; then
  echo "release-files: no Imager JSON written: set URL_BASE=https://…/ (where $NAME.img.xz will be served)"
  exit 0
fi
case "$URL_BASE" in https://*) ;; *) echo "release-files: URL_BASE must start with https:// (got $URL_BASE)" >&2; exit 1;; esac
case "$URL_BASE" in */) ;; *) URL_BASE="$URL_BASE/";; esac
devs=$(printf '"%s", ' $DEVICES); devs=${devs%, }
cat > "$NAME.rpi-imager.json" <<JSON
{
  "os_list": [
    {
      "name": "motcua appliance $VERSION ($WHAT)",
      "description": "Kiosk and counter appliance for Public Administration Service Centers. Put motcua.toml on the boot partition before the first start.",
      "url": "${URL_BASE}$NAME.img.xz",
      "extract_size": $(stat -c %s "$NAME.img"),
      "extract_sha256": "$(sha256sum "$NAME.img" | cut -d' ' -f1)",
      "image_download_size": $(stat -c %s "$NAME.img.xz"),
      "image_download_sha256": "$(sha256sum "$NAME.img.xz" | cut -d' ' -f1)",
      "release_date": "$(date -u +%F)",
      "devices": [$devs]
    }
  ]
}
JSON
echo "release-files: $NAME.sha256 (${shipped[*]}), $NAME.rpi-imager.json (url ${URL_BASE}$NAME.img.xz; devices $DEVICES)"
