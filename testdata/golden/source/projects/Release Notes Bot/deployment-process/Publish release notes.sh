echo "Publishing notes for #{Octopus.Release.Number}"
curl -fsS -X POST "#{Notes.Endpoint}" -d @notes.md
