@echo off
rem r2c: the R2C Workstation command line of the installed app (Windows).
rem The app binary has ELECTRON_RUN_AS_NODE fused off; its main process takes --cli, runs the
rem command line and exits before any window is created. This file is in <install>\resources\bin.
setlocal
set "R2C_APP=%~dp0..\..\R2C Workstation.exe"
"%R2C_APP%" --cli %*
exit /b %ERRORLEVEL%
