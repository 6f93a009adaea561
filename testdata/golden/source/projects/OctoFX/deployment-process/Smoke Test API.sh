wait_for_http "https://api.#{Common.Environment.ShortName}.octofx.example.com/health"
