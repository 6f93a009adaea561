aws cloudfront create-invalidation --distribution-id "#{CloudFront.DistributionId}" --paths "#{CloudFront.Paths}"
