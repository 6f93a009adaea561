Write-DeployLog "Maintenance mode: #{OctoFX.Maintenance.Mode}"
Set-Content -Path "#{OctoFX.Web.Root}\app_offline.htm" -Value "Back soon"
