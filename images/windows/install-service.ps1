#Requires -RunAsAdministrator
<#
.SYNOPSIS
  Registers appliance-agent as a Windows service with restart-on-failure recovery, or removes it (-Uninstall).
.DESCRIPTION
  Binaries: copied from -PublishDir (output of
    dotnet publish agent/Appliance.Agent -c Release -r win-x64 --self-contained -o DIR)
  to -InstallDir. Data: %ProgramData%\Appliance (SYSTEM and Administrators only). Configuration:
  %ProgramData%\Appliance\agent.json, which the agent reads by default; written with production
  defaults only when absent. The service runs as LocalSystem, the Windows counterpart of root in the
  systemd unit (network configuration, device access). -Uninstall keeps data and configuration.
.EXAMPLE
  .\install-service.ps1 -PublishDir C:\build\agent
  .\install-service.ps1 -Uninstall
#>
[CmdletBinding()]
param(
    [string]$PublishDir,
    [string]$InstallDir = (Join-Path $env:ProgramFiles 'Appliance\agent'),
    [switch]$Uninstall
)
$ErrorActionPreference = 'Stop'
$name = 'appliance-agent'   # must match UseWindowsService(ServiceName) in the agent
$dataDir = Join-Path $env:ProgramData 'Appliance'
$config = Join-Path $dataDir 'agent.json'

function Invoke-Sc([string[]]$arguments) {
    & sc.exe @arguments | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "sc.exe $($arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

$existing = Get-Service -Name $name -ErrorAction SilentlyContinue
if ($existing -and $existing.Status -ne 'Stopped') { Stop-Service -Name $name -Force }

if ($Uninstall) {
    if ($existing) { Invoke-Sc @('delete', $name) }   # Remove-Service needs PowerShell 6+
    if (Test-Path $InstallDir) { Remove-Item -Recurse -Force $InstallDir }
    Write-Host "removed service $name and $InstallDir; kept $dataDir"
    return
}

if ($PublishDir) {
    New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
    Copy-Item -Recurse -Force -Path (Join-Path $PublishDir '*') -Destination $InstallDir
}
$exe = Join-Path $InstallDir 'appliance-agent.exe'
if (-not (Test-Path $exe)) { throw "$exe not found: pass -PublishDir (a self-contained win-x64 publish of agent/Appliance.Agent)" }

# Data directory: inheritance off, full control for SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544) only.
New-Item -ItemType Directory -Force -Path $dataDir | Out-Null
& icacls.exe $dataDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls on $dataDir failed with exit code $LASTEXITCODE" }

if (Test-Path $config) {
    Write-Host "kept existing $config"
} else {
    @'
{
  "Appliance": {
    "ShutdownTimeout": "00:00:04",
    "Api": { "TcpAddress": "127.0.0.1", "TcpPort": 8080 },
    "Ha": {
      "Power": {
        "PowerOff": { "Path": "C:\\Windows\\System32\\shutdown.exe", "Arguments": [ "/s", "/t", "0", "/d", "p:0:0" ] },
        "Reboot": { "Path": "C:\\Windows\\System32\\shutdown.exe", "Arguments": [ "/r", "/t", "0", "/d", "p:0:0" ] }
      }
    }
  }
}
'@ | Set-Content -Path $config -Encoding utf8
}

$binPath = "`"$exe`""
if ($existing) {
    Invoke-Sc @('config', $name, 'binPath=', $binPath, 'start=', 'auto')
} else {
    New-Service -Name $name -BinaryPathName $binPath -DisplayName 'Appliance host agent' `
        -Description 'HA role, heartbeat, front panel and local API of the appliance.' -StartupType Automatic | Out-Null
}
# Recovery: restart after 5 s, 5 s, then 30 s; the failure count resets after a day without failures.
# failureflag 1 also applies the actions when the agent exits with an error code (not only on a crash).
Invoke-Sc @('failure', $name, 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/30000')
Invoke-Sc @('failureflag', $name, '1')

Start-Service -Name $name
Write-Host "service $name running from $exe; data $dataDir; config $config"
