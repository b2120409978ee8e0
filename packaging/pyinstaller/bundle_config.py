"""What goes into (and stays out of) the PyInstaller bundle; read by the spec and the tests.

Kept apart from the spec so that tests/unit/test_packaging.py can check, without PyInstaller,
that no module of the app imports a Qt module the bundle leaves out.
"""

from __future__ import annotations

#: Name of the bundle folder and of its executable (the console script's name, so docs match).
BUNDLE_NAME = "halo-paylink"
#: Windows only: a second, console executable in the same folder for the command-line subcommands
#: (a windowed .exe has no stdout). On Linux and macOS the one executable does both.
WINDOWS_CLI_NAME = "halo-paylink-cli"

#: Linux: system libraries the bundle carries although PyInstaller leaves them to the system by
#: default. libwayland-cursor.so.0 is missing on many desktops (it is not part of the graphics
#: stack), and Qt's Wayland platform plugin cannot load without it.
BUNDLED_SYSTEM_LIBRARIES: tuple[str, ...] = ("libwayland-cursor.so.0",)

#: Qt modules the app does not use. Leaving them out keeps the bundle small; a test fails when
#: app code imports one of them, so add a module back here before using it.
EXCLUDED_QT_MODULES: tuple[str, ...] = (
    "PySide6.Qt3DAnimation",
    "PySide6.Qt3DCore",
    "PySide6.Qt3DExtras",
    "PySide6.Qt3DInput",
    "PySide6.Qt3DLogic",
    "PySide6.Qt3DRender",
    "PySide6.QtBluetooth",
    "PySide6.QtCharts",
    "PySide6.QtConcurrent",
    "PySide6.QtDataVisualization",
    "PySide6.QtDesigner",
    "PySide6.QtGraphs",
    "PySide6.QtHelp",
    "PySide6.QtHttpServer",
    "PySide6.QtLocation",
    "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets",
    "PySide6.QtNetwork",  # HTTP goes through httpx, not Qt
    "PySide6.QtNetworkAuth",
    "PySide6.QtNfc",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtPdf",
    "PySide6.QtPdfWidgets",
    "PySide6.QtPositioning",
    "PySide6.QtPrintSupport",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuick3D",
    "PySide6.QtQuickControls2",
    "PySide6.QtQuickTest",
    "PySide6.QtQuickWidgets",
    "PySide6.QtRemoteObjects",
    "PySide6.QtScxml",
    "PySide6.QtSensors",
    "PySide6.QtSerialBus",
    "PySide6.QtSerialPort",
    "PySide6.QtSpatialAudio",
    "PySide6.QtSql",
    "PySide6.QtStateMachine",
    "PySide6.QtTest",
    "PySide6.QtTextToSpeech",
    "PySide6.QtUiTools",
    "PySide6.QtWebChannel",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineQuick",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebSockets",
    "PySide6.QtWebView",
    "PySide6.QtXml",
)

#: Python packages never wanted in the bundle: other Qt bindings (qasync probes for them by name),
#: test and developer tools that a development venv may hold.
EXCLUDED_PACKAGES: tuple[str, ...] = (
    "PyQt5",
    "PyQt6",
    "PySide2",
    "tkinter",
    "_tkinter",
    "pytest",
    "pytestqt",
    "respx",
    "halopsa",
    "mypy",
    "ruff",
    "IPython",
)

#: Shared libraries of the excluded modules and Qt plugins the app cannot use, dropped from the
#: collected binaries by file-name prefix (Linux `lib...so`, Windows `Qt6...dll`, macOS frameworks).
#: The xcb, wayland, offscreen and minimal platforms stay.
EXCLUDED_BINARY_PREFIXES: tuple[str, ...] = (
    "libQt6Pdf",
    "Qt6Pdf",
    "libQt6Qml",
    "Qt6Qml",
    "libQt6Quick",
    "Qt6Quick",
    "libQt6VirtualKeyboard",
    "Qt6VirtualKeyboard",
    "libqpdf",  # imageformats/libqpdf.so: the PDF image format plugin pulls in QtPdf
    "qpdf",
    "libqvnc",  # platforms we never run on
    "libqlinuxfb",
    "libqeglfs",
    "libqminimalegl",
    "libqvkkhrdisplay",
    "libQt6EglFSDeviceIntegration",
    "libQt6EglFsKmsSupport",
    "libqtvirtualkeyboardplugin",
    "libqevdev",  # raw input devices (embedded use)
    "libqtuiotouchplugin",  # TUIO touch over the network: pulls in QtNetwork and Kerberos
    # The GTK3 platform theme loads the build machine's whole GTK stack into the bundle, which
    # then clashes with the user's; without it Qt uses its own style and the desktop portal.
    "libqgtk3",
    "libqtiff",  # image formats the app never reads (it shows PNG/SVG only)
    "libqwebp",
    "libqtga",
    "libqwbmp",
    "libqicns",
)

#: Data files dropped by destination prefix. The UI is English and installs no QTranslator, so Qt's
#: own translation catalogs (about 6 MB) would never be read; a test fails if the code starts
#: using QTranslator while they are excluded.
EXCLUDED_DATA_PREFIXES: tuple[str, ...] = ("PySide6/Qt/translations/",)
