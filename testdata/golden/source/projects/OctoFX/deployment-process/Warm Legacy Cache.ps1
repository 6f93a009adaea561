Invoke-WebRequest -UseBasicParsing "https://#{Common.Environment.ShortName}.octofx.example.com/warmup" | Out-Null
