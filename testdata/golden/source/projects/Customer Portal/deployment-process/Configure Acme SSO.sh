aws ssm put-parameter --name /portal/acme/sso --value "#{Portal.Sso.MetadataUrl}" --overwrite
