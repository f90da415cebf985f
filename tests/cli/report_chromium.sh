#!/bin/sh
# report_chromium.sh: `simrun report` opened in a real browser.  A database
# of three campaigns (simrun compare on the rwsem fairness scenario) becomes
# a page; headless Chromium (Debian's `chromium`, which tools/deps.sh
# installs) loads it from the file system with networking off, and:
#  - the DOM after load says every SVG plot has a non-zero size on screen
#    and bars in it (the page's own inline check sets data-plots and
#    data-plots-rendered on <body>);
#  - the browser logged no console message (an error in the page's script,
#    a refused resource) while loading it;
#  - the screenshot is a PNG of the window's size that is not blank: many
#    distinct colours and a good share of non-white pixels.
# Skipped (exit 77) only when chromium is not installed.
# usage: report_chromium.sh SIMRUN SOURCE_DIR [SCREENSHOT_COPY]
set -eu
simrun=$1
src=$2
keep=${3:-}

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "SKIP: chromium is not installed (sh tools/deps.sh installs it)"
	exit 77
fi
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to read the PNG"; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$simrun" compare "$src/scenarios/rwsem-fair-deadlock.json" --schedules 100 \
	--db "$dir/r.db" >"$dir/compare.out" 2>&1 || [ $? -eq 1 ]
"$simrun" report --db "$dir/r.db" -o "$dir/report.html"

# Flags: no sandbox (CI runs as root), no GPU, no network of its own.
run_browser() {
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --disable-extensions --user-data-dir="$dir/profile" \
		--window-size=1280,2000 --enable-logging=stderr --v=0 "$@" \
		"file://$dir/report.html"
}

run_browser --dump-dom >"$dir/dom.html" 2>"$dir/dom.log"
body=$(grep -o '<body[^>]*>' "$dir/dom.html" | head -n 1)
plots=$(echo "$body" | sed -n 's/.*data-plots="\([0-9]*\)".*/\1/p')
rendered=$(echo "$body" | sed -n 's/.*data-plots-rendered="\([0-9]*\)".*/\1/p')
if [ -z "$plots" ] || [ -z "$rendered" ]; then
	echo "FAIL: the page's check did not run: $body"; exit 1
fi
if [ "$plots" -lt 2 ] || [ "$plots" != "$rendered" ]; then
	echo "FAIL: $rendered of $plots plots rendered"; exit 1
fi
echo "plots rendered: $rendered of $plots"
if grep -E 'CONSOLE|Uncaught|Refused to' "$dir/dom.log"; then
	echo "FAIL: the browser logged console messages"; exit 1
fi

run_browser --screenshot="$dir/shot.png" >"$dir/shot.log" 2>&1
[ -s "$dir/shot.png" ] || { echo "FAIL: no screenshot"; cat "$dir/shot.log"; exit 1; }
if grep -E 'CONSOLE|Uncaught|Refused to' "$dir/shot.log"; then
	echo "FAIL: the browser logged console messages"; exit 1
fi
[ -z "$keep" ] || cp "$dir/shot.png" "$keep"

# Decode the PNG (8-bit RGB or RGBA, non-interlaced, as Chromium writes it)
# and count colours and non-white pixels.
python3 - "$dir/shot.png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, ihdr = 8, b'', None
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        ihdr = struct.unpack('>IIBBBBB', body)
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = ihdr
assert (w, h) == (1280, 2000), 'size %dx%d' % (w, h)
assert depth == 8 and ctype in (2, 6) and interlace == 0, 'format %r' % (ihdr,)
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours, nonwhite = set(), 0
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[i] = (line[i] + pr) & 255
    if y % 4 == 0:
        for x in range(0, stride, bpp * 4):
            px = bytes(line[x:x + 3])
            colours.add(px)
            nonwhite += px != b'\xff\xff\xff'
    prev = line
samples = (h // 4) * (w // 4)
share = nonwhite / samples
print('screenshot %dx%d: %d colours, %.1f%% non-white' % (w, h, len(colours), share * 100))
assert len(colours) > 8, 'a blank page'
assert share > 0.03, 'almost blank'
EOF
echo "PASS"
