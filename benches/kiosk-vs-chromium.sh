#!/usr/bin/env bash
# Kiosk first frame: time and peak RSS of `motcua screenshot --screen home` (release build)
# next to Debian's headless Chromium rendering an equivalent static HTML page of the same home
# screen (generated here from the same demo catalog, same embedded Noto Sans), 800x480.
#
# Needs: python3, /usr/bin/time (package `time`), chromium (package `chromium`).
# Usage: benches/kiosk-vs-chromium.sh [REPETITIONS]   (default 5). Prints a Markdown table.
#
# Peak RSS is what `/usr/bin/time -v` reports: for Chromium that is its largest single process,
# not the sum of its browser, GPU and renderer processes, so Chromium's real total is higher.
set -euo pipefail
REPS=${1:-5}
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "install chromium: apt-get install chromium" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "install time: apt-get install time" >&2; exit 1; }
cargo build --release --quiet
BIN=$PWD/target/release/motcua
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

python3 - data/default-catalog.json "$WORK/home.html" "$PWD/ui/fonts" <<'PY'
import json, sys, html
cat = json.load(open(sys.argv[1]))
fonts = sys.argv[3]
name = cat["center"]["name"]; name = name["vi"] if isinstance(name, dict) else name
def vi(x): return x["vi"] if isinstance(x, dict) else x
tiles = "".join(
    f'<div class="tile">{html.escape(vi(f["name"]))}<br>{sum(p["field"] == f["code"] for p in cat["procedures"])} thủ tục</div>'
    for f in cat["fields"])
serving = "".join(f'<span>Quầy {c["number"]}: {c["number"]}00{c["number"]}</span>' for c in cat.get("counters", []))
open(sys.argv[2], "w").write(f"""<!doctype html><html lang="vi"><meta charset="utf-8"><style>
@font-face {{ font-family: Noto; src: url(file://{fonts}/NotoSans-Regular.ttf); }}
@font-face {{ font-family: Noto; font-weight: 700; src: url(file://{fonts}/NotoSans-Bold.ttf); }}
body {{ margin: 0; width: 800px; height: 480px; font: 18px Noto; background: #eef2f6; display: flex; flex-direction: column; }}
header {{ background: #0b4f8a; color: #fff; font-weight: 700; font-size: 22px; height: 60px; display: flex; align-items: center; padding: 0 10px; justify-content: space-between; }}
header button, .entries button {{ font: 18px Noto; height: 48px; border-radius: 8px; border: 1px solid #b8c2cc; background: #fff; }}
main {{ flex: 1; padding: 10px; display: flex; flex-direction: column; gap: 8px; }}
.search {{ height: 56px; font-size: 22px; background: #fff; border: 1px solid #b8c2cc; border-radius: 8px; display: flex; align-items: center; padding-left: 10px; }}
.tiles {{ flex: 1; display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; align-content: start; }}
.tile {{ background: #0b4f8a; color: #fff; border-radius: 8px; height: 64px; display: flex; align-items: center; justify-content: center; text-align: center; }}
.entries {{ display: flex; gap: 8px; }} .entries button {{ flex: 1; height: 56px; }}
.strip {{ background: #10243a; color: #fff; height: 52px; display: flex; gap: 14px; align-items: center; padding: 0 10px; }}
.strip b {{ color: #ffd54f; }}
footer {{ background: #dfe5eb; color: #4d5661; font-size: 16px; height: 30px; display: flex; justify-content: space-between; align-items: center; padding: 0 10px; }}
</style><body><header>{html.escape(name)}<button>English</button></header>
<main><div class="search">Tìm thủ tục: gõ tên hoặc mã…</div><div>Hoặc chọn lĩnh vực:</div>
<div class="tiles">{tiles}</div><div class="entries"><button>Tra cứu hồ sơ</button><button>Cán bộ</button><button>Thống kê</button><button>Đánh giá</button></div></main>
<div class="strip"><b>Đang phục vụ</b>{serving}</div><footer><span>{html.escape(name)}</span><span>Danh mục v{cat["version"]}</span></footer></body></html>""")
PY

# run LABEL CMD...: prints "ms kb" for one run.
run() {
    local start end
    start=$(date +%s%N)
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo "$(( (end - start) / 1000000 )) $(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")"
}

kiosk() { run env MOTCUA_DATA_DIR="$WORK/none" "$BIN" --data-dir "$WORK/none" screenshot --screen home --out "$WORK/kiosk.png"; }
chrome() {
    run chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d -p "$WORK")" --screenshot="$WORK/chromium.png" \
        --window-size=800,480 "file://$WORK/home.html"
}

kiosk >/dev/null; chrome >/dev/null   # warm the page cache for both
K=(); C=()
for _ in $(seq "$REPS"); do K+=("$(kiosk)"); C+=("$(chrome)"); done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
km=$(printf '%s\n' "${K[@]}" | awk '{print $1}' | median)
kr=$(printf '%s\n' "${K[@]}" | awk '{print $2}' | median)
cm=$(printf '%s\n' "${C[@]}" | awk '{print $1}' | median)
cr=$(printf '%s\n' "${C[@]}" | awk '{print $2}' | median)
[ -s "$WORK/kiosk.png" ] && [ -s "$WORK/chromium.png" ] || { echo "a screenshot is missing" >&2; exit 1; }
echo "| | time to first frame (ms, median of $REPS) | peak RSS (MiB, median) |"
echo "|---|---|---|"
printf '| motcua screenshot --screen home (release) | %d | %.1f |\n' "$km" "$(echo "$kr/1024" | bc -l)"
printf '| chromium --headless --screenshot | %d | %.1f |\n' "$cm" "$(echo "$cr/1024" | bc -l)"
printf '| ratio (chromium / motcua) | %.1f× | %.1f× |\n' "$(echo "$cm/$km" | bc -l)" "$(echo "$cr/$kr" | bc -l)"
echo
echo "runs (ms kB): motcua ${K[*]// /:} · chromium ${C[*]// /:}"
