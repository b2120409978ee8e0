#!/bin/sh
# Install Halo PayLink Assistant from the unpacked Linux tarball, with a menu entry and icons.
#
#   ./install.sh                          for the current user
#   sudo PREFIX=/usr/local ./install.sh   for everyone (or any PREFIX)
#   ./install.sh --uninstall              remove it again (same PREFIX / XDG_DATA_HOME)
#
# For the current user: the program goes to ~/.local/lib/halo-paylink, a `halo-paylink` link to
# ~/.local/bin, the desktop file, the AppStream metainfo and the hicolor icons below
# $XDG_DATA_HOME (default ~/.local/share), where menus and software centres look. With PREFIX:
# $PREFIX/lib/halo-paylink, $PREFIX/bin and $PREFIX/share. Either way it also writes
# <program folder>/uninstall.sh, which removes exactly what was installed and needs nothing
# from the tarball. The app keeps its own settings and journals in the user's folders
# (~/.config/halo-paylink, ...), which neither script touches.
set -eu

APP_ID=io.github.halopaylink.HaloPayLinkAssistant
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${PREFIX:-}" ]; then
    libdir=$PREFIX/lib/halo-paylink
    bindir=$PREFIX/bin
    share=$PREFIX/share
else
    libdir=$HOME/.local/lib/halo-paylink
    bindir=$HOME/.local/bin
    share=${XDG_DATA_HOME:-$HOME/.local/share}
fi

# $1 as a single-quoted shell word (any character, a single quote included).
quote() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# The uninstaller for these folders, as a shell script on stdout.
uninstaller() {
    cat <<EOF
#!/bin/sh
# Removes Halo PayLink Assistant as install.sh installed it. The app's own settings, logs and
# run journals in the user's folders stay.
set -eu
libdir=$(quote "$libdir")
bindir=$(quote "$bindir")
share=$(quote "$share")
APP_ID=$APP_ID
if [ -L "\$bindir/halo-paylink" ] && [ "\$(readlink "\$bindir/halo-paylink")" = "\$libdir/halo-paylink" ]; then
    rm -f "\$bindir/halo-paylink"
fi
rm -f "\$share/applications/\$APP_ID.desktop" "\$share/metainfo/\$APP_ID.metainfo.xml"
if [ -d "\$share/icons/hicolor" ]; then
    find "\$share/icons/hicolor" -name "\$APP_ID.*" \( -type f -o -type l \) -exec rm -f {} +
fi
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "\$share/applications" 2>/dev/null || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "\$share/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "\$share/icons/hicolor" 2>/dev/null || true
fi
rm -rf "\$libdir"
echo "Removed Halo PayLink Assistant (\$libdir)"
EOF
}

if [ "${1:-}" = "--uninstall" ]; then
    uninstaller | sh
    exit 0
fi
if [ $# -gt 0 ]; then
    echo "usage: [PREFIX=dir] $0 [--uninstall]" >&2
    exit 2
fi

rm -rf "$libdir"
mkdir -p "$libdir" "$bindir" "$share/applications" "$share/metainfo" "$share/icons"
cp -R "$here/halo-paylink" "$here/_internal" "$libdir/"
for legal in LICENSE THIRD_PARTY_NOTICES.md LICENSES; do
    if [ -e "$here/$legal" ]; then cp -R "$here/$legal" "$libdir/"; fi
done
ln -sf "$libdir/halo-paylink" "$bindir/halo-paylink"

# The desktop file names the command; point it at this install so it works without PATH changes.
sed -e "s|^Exec=halo-paylink|Exec=\"$libdir/halo-paylink\"|" \
    -e "s|^TryExec=.*|TryExec=$libdir/halo-paylink|" \
    "$here/share/applications/$APP_ID.desktop" >"$share/applications/$APP_ID.desktop"
cp "$here/share/metainfo/$APP_ID.metainfo.xml" "$share/metainfo/"
cp -R "$here/share/icons/hicolor" "$share/icons/"
uninstaller >"$libdir/uninstall.sh"
chmod 755 "$libdir/uninstall.sh"
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$share/applications" 2>/dev/null || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$share/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$share/icons/hicolor" 2>/dev/null || true
fi
echo "Installed Halo PayLink Assistant to $libdir (command: $bindir/halo-paylink)"
echo "To remove it: $libdir/uninstall.sh"
