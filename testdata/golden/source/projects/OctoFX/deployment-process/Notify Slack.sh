#!/bin/bash
status=$(get_octopusvariable "Octopus.Deployment.Error")
text="#{Octopus.Project.Name} #{Octopus.Release.Number} to #{Octopus.Environment.Name}: ${status:-succeeded}"
curl -s -X POST -H 'Content-type: application/json' --data "{\"channel\":\"$(get_octopusvariable "ssn_Channel")\",\"text\":\"$text\"}" "$(get_octopusvariable "ssn_HookUrl")"
