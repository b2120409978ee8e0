#!/bin/sh
# Install Halo PayLink Assistant from the unpacked Linux tarball, with a menu entry and icons.
#
#   ./install.sh                      for the current user (below ~/.local)
#   sudo PREFIX=/usr/local ./install.sh   for everyone
#   ./install.sh --uninstall          remove it again (same PREFIX)
#
# Installs the program to $PREFIX/lib/halo-paylink, a `halo-paylink` link in $PREFIX/bin, the
# desktop file, the AppStream metainfo and the hicolor icons under $PREFIX/share. The app keeps its
# own settings and journals in the user's folders (~/.config/halo-paylink, ...), which this script
# never touches.
set -eu

APP_ID=com.benjipays.HaloPayLinkAssistant
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
libdir=$prefix/lib/halo-paylink
share=$prefix/share

refresh_caches() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$share/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$share/icons/hicolor/index.theme" ]; then
        gtk-update-icon-cache -q -t "$share/icons/hicolor" 2>/dev/null || true
    fi
}

if [ "${1:-}" = "--uninstall" ]; then
    if [ -L "$prefix/bin/halo-paylink" ] && [ "$(readlink "$prefix/bin/halo-paylink")" = "$libdir/halo-paylink" ]; then
        rm -f "$prefix/bin/halo-paylink"
    fi
    rm -rf "$libdir"
    rm -f "$share/applications/$APP_ID.desktop" "$share/metainfo/$APP_ID.metainfo.xml"
    find "$share/icons/hicolor" -name "$APP_ID.*" -type f -exec rm -f {} + 2>/dev/null || true
    refresh_caches
    echo "Removed Halo PayLink Assistant from $prefix"
    exit 0
fi
if [ $# -gt 0 ]; then
    echo "usage: [PREFIX=dir] $0 [--uninstall]" >&2
    exit 2
fi

rm -rf "$libdir"
mkdir -p "$libdir" "$prefix/bin" "$share/applications" "$share/metainfo" "$share/icons"
cp -R "$here/halo-paylink" "$here/_internal" "$libdir/"
ln -sf "$libdir/halo-paylink" "$prefix/bin/halo-paylink"

# The desktop file names the command; point it at this install so it works without PATH changes.
sed -e "s|^Exec=halo-paylink|Exec=\"$libdir/halo-paylink\"|" \
    -e "s|^TryExec=.*|TryExec=$libdir/halo-paylink|" \
    "$here/share/applications/$APP_ID.desktop" >"$share/applications/$APP_ID.desktop"
cp "$here/share/metainfo/$APP_ID.metainfo.xml" "$share/metainfo/"
cp -R "$here/share/icons/hicolor" "$share/icons/"
refresh_caches
echo "Installed Halo PayLink Assistant to $libdir (command: $prefix/bin/halo-paylink)"
