Write-DeployLog "Upgrading #{Application.Database.Name}"
& "#{Octopus.Action.Package[OctoFX.Database].ExtractedPath}\OctoFX.Database.exe" --connection "#{ConnectionString}"
