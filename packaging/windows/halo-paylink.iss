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
#define AppIdRdns "com.benjipays.HaloPayLinkAssistant"
#define AppPublisher "Benji Pays"
#define AppExeName "halo-paylink.exe"
#define CliExeName "halo-paylink-cli.exe"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define Root AddBackslash(SourcePath) + "..\.."

[Setup]
; A fixed GUID (uuid5 of the app id): never change it, or upgrades install side by side.
AppId={{71177cb7-9133-5a62-a0bc-42cf47a93984}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Installs per user without admin rights by default; the dialog offers "for all users".
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

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Root}\dist\halo-paylink\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExeName}"; AppUserModelID: "{#AppIdRdns}"
Name: "{autoprograms}\{#AppName} (demo sandbox)"; Filename: "{app}\{#AppExeName}"; Parameters: "--demo"; AppUserModelID: "{#AppIdRdns}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExeName}"; AppUserModelID: "{#AppIdRdns}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExeName}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; The console tool {#CliExeName} (check, backfill, runs, sandbox) is installed next to the app;
; run it from a terminal by its full path, e.g. "%LOCALAPPDATA%\Programs\{#AppName}\{#CliExeName}" --help
