Get-ChildItem "#{Logs.Path}" -Filter *.log | ? LastWriteTime -lt (Get-Date).AddDays(-1) | Compress-Archive -DestinationPath "#{Logs.Archive}" -Update
