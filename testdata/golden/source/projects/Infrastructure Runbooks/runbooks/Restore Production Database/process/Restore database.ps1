Restore-AzSqlDatabase -FromPointInTimeBackup -PointInTime "#{Restore.BackupDate}" -ResourceGroupName octofx -ServerName octofx-sql -TargetDatabaseName "#{Restore.Database}"
