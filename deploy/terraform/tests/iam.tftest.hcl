# The module's roles, planned and applied with a mock AWS provider: names that do not
# collide across Regions (IAM is global), the path and permissions boundary an
# organisation asks for, the KMS grants of queues with customer managed keys, and
# ManageConnections on the POSTs of agma_arn alone.

# Made-up values for what AWS computes: mocks/aws.tfmock.hcl.
mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  prefix         = "test"
  agma_arn       = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/@connections"
  apigw_endpoint = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
  connections_table = {
    name = "test-connections"
    arn  = "arn:aws:dynamodb:eu-west-1:123456789012:table/test-connections"
  }
  lambda_zip_path = "tests/bootstrap.zip"
}

run "role_named_for_its_region" {
  command = apply

  assert {
    condition     = aws_iam_role.pusher.name == "test-pusher-eu-west-1" && aws_iam_role.pusher.path == "/" && aws_iam_role.pusher.permissions_boundary == null
    error_message = "The role must be named after the function and the API's Region, at path / and without a boundary by default."
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.pusher.statement : s.sid == "ManageConnections" && toset(s.resources) == toset(["arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/@connections/*"]) && toset(s.actions) == toset(["execute-api:ManageConnections"])])
    error_message = "The role may post to the connections of agma_arn's stage, by POST only."
  }

  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.pusher.statement : s.sid == "QueueKeys"])
    error_message = "Without kms_key_arns the role must have no KMS grant."
  }
}

# The same prefix in another Region: another role.
run "role_in_another_region" {
  command = apply

  variables {
    agma_arn       = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/@connections"
    apigw_endpoint = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
  }

  assert {
    condition     = aws_iam_role.pusher.name == "test-pusher-us-east-1"
    error_message = "The role's name must follow the API's Region."
  }
}

# A name over IAM's 64 characters: a prefix IAM completes, unique.
run "role_name_too_long_for_iam" {
  command = apply

  variables {
    prefix = "a-prefix-of-fifty-seven-characters-for-the-pusher-of-team"
  }

  assert {
    condition     = aws_iam_role.pusher.name_prefix != null && length(aws_iam_role.pusher.name_prefix) <= 38 && startswith(aws_iam_role.pusher.name_prefix, "a-prefix-of-fifty")
    error_message = "A role name over 64 characters must become a name_prefix of at most 38 (IAM adds 26)."
  }
}

run "role_path_and_boundary" {
  command = apply

  variables {
    role_path                 = "/service-role/"
    role_permissions_boundary = "arn:aws:iam::123456789012:policy/team-boundary"
    authorizer                = { jwks_url = "https://issuer.example.com/.well-known/jwks.json" }
  }

  assert {
    condition     = aws_iam_role.pusher.path == "/service-role/" && aws_iam_role.pusher.permissions_boundary == "arn:aws:iam::123456789012:policy/team-boundary"
    error_message = "The function's role must take role_path and role_permissions_boundary."
  }

  assert {
    condition     = aws_iam_role.authorizer[0].path == "/service-role/" && aws_iam_role.authorizer[0].permissions_boundary == "arn:aws:iam::123456789012:policy/team-boundary"
    error_message = "The authorizer's role must take role_path and role_permissions_boundary too."
  }
}

run "role_path_malformed" {
  command = plan

  variables {
    role_path                 = "service-role"
    role_permissions_boundary = "team-boundary"
  }

  expect_failures = [var.role_path, var.role_permissions_boundary]
}

# A queue encrypted with a customer managed key: receiving needs kms:Decrypt, sending
# (a split broadcast's segment tasks) kms:GenerateDataKey as well.
run "queue_keys" {
  command = apply

  variables {
    notifications_queue_enabled = true
    notifications_queue_arn     = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
    broadcast_split             = { above = 50000 }
    kms_key_arns                = ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.pusher.statement : s.sid == "QueueKeys" && toset(s.actions) == toset(["kms:Decrypt", "kms:GenerateDataKey"]) && toset(s.resources) == toset(["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"])])
    error_message = "The role must be allowed kms:Decrypt and kms:GenerateDataKey on the queue's key, and on no other."
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.pusher.statement : s.sid == "SegmentTasks" && toset(s.actions) == toset(["sqs:SendMessage"]) && toset(s.resources) == toset(["arn:aws:sqs:eu-west-1:123456789012:test-notifications"])])
    error_message = "With broadcast_split the role must be allowed to send the segment tasks to the notifications queue."
  }
}

run "queue_key_alias_refused" {
  command = plan

  variables {
    kms_key_arns = ["alias/aws/sqs"]
  }

  expect_failures = [var.kms_key_arns]
}

# The authorizer's role is named as the pusher's: after its function and the API's
# Region, or a prefix IAM completes past 64 characters.
run "authorizer_role_named_for_its_region" {
  command = apply

  variables {
    authorizer = { jwks_url = "https://issuer.example.com/.well-known/jwks.json" }
  }

  assert {
    condition     = aws_iam_role.authorizer[0].name == "test-pusher-authorizer-eu-west-1"
    error_message = "The authorizer's role must be named after its function and the API's Region."
  }
}

run "authorizer_role_name_too_long_for_iam" {
  command = apply

  variables {
    prefix     = "a-prefix-of-forty-characters-for-the-auth"
    authorizer = { jwks_url = "https://issuer.example.com/.well-known/jwks.json" }
  }

  assert {
    condition     = aws_iam_role.pusher.name == "a-prefix-of-forty-characters-for-the-auth-pusher-eu-west-1" && aws_iam_role.authorizer[0].name_prefix == "a-prefix-of-forty-characters-for-the--"
    error_message = "Past 64 characters, the authorizer's role must take a prefix IAM completes, while the pusher's keeps its name."
  }
}
