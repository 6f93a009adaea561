retry ./refresh.sh --target "#{Restore.Database}"
