; Inno Setup 6 script: turns the PyInstaller folder dist\halo-paylink into a Windows installer.
;
; On Windows, from the repository root, after building the bundle (see packaging\README.md):
;   iscc /DAppVersion=0.1.0 packaging\windows\halo-paylink.iss
; Output: dist\HaloPayLinkAssistant-<version>-setup.exe
;
; The installer only copies program files. The app keeps its settings, logs and run journals in
; the user's AppData folders (platformdirs), never next to itself, so it runs fine from
; "Program Files"; uninstalling leaves those user files in place on purpose.

#define AppName "Halo PayLink Assistant"
; The reverse-DNS id used everywhere (halo_paylink.APP_ID): also the taskbar AppUserModelID.
#define AppIdRdns "io.github.halopaylink.HaloPayLinkAssistant"
; Who publishes it (halo_paylink.PUBLISHER), and where (halo_paylink.HOMEPAGE).
#define AppPublisher "Halo PayLink Assistant contributors"
#define AppURL "https://github.com/halopaylink/halo-paylink"
#define AppExeName "halo-paylink.exe"
#define CliExeName "halo-paylink-cli.exe"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define Root AddBackslash(SourcePath) + "..\.."

[Setup]
; A fixed GUID, uuid5(NAMESPACE_DNS, app id): never change it after the first release, or
; upgrades install side by side (tests/unit/test_packaging.py recomputes it).
AppId={{da6ac2c1-2f6b-5a4f-86c5-037d3aa6d9ba}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
AppPublisherURL={#AppURL}
AppSupportURL={#AppURL}/issues
AppUpdatesURL={#AppURL}/releases
AppCopyright=© {#AppPublisher}. MIT licence.
LicenseFile={#Root}\LICENSE
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Installs per user without admin rights by default ({autopf} is then
; %LOCALAPPDATA%\Programs); the dialog offers "for all users" (Program Files, needs admin).
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#Root}\dist
OutputBaseFilename=HaloPayLinkAssistant-{#AppVersion}-setup
SetupIconFile={#Root}\resources\icons\{#AppIdRdns}.ico
UninstallDisplayIcon={app}\{#AppExeName}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
#ifdef Sign
; iscc "/Ssigntool=signtool sign /fd sha256 /tr <timestamp URL> /td sha256 /n <certificate subject> $f" /DSign ...
; signs the setup and the uninstaller; the two .exe files are signed before (packaging\README.md).
SignTool=signtool
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The bundle folder holds LICENSE, THIRD_PARTY_NOTICES.md and LICENSES\ at its top.
Source: "{#Root}\dist\halo-paylink\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExeName}"; AppUserModelID: "{#AppIdRdns}"
Name: "{autoprograms}\{#AppName} (demo sandbox)"; Filename: "{app}\{#AppExeName}"; Parameters: "--demo"; AppUserModelID: "{#AppIdRdns}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExeName}"; AppUserModelID: "{#AppIdRdns}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExeName}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; The console tool {#CliExeName} (check, backfill, runs, sandbox) is installed next to the app;
; run it from a terminal by its full path, e.g. "%LOCALAPPDATA%\Programs\{#AppName}\{#CliExeName}" --help
