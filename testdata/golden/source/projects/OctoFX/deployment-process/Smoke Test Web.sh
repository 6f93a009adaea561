wait_for_http "https://#{Common.Environment.ShortName}.octofx.example.com/health"
