# A caller that creates its queue, topic, table and alarm topic in the same
# configuration as the module (tests/same_config): their ARNs are unknown when
# planning, and the module must plan and apply all the same (issue 21: with a count on
# whether the ARN was null, planning failed with "Invalid count argument").

# Made-up values for what AWS computes: mocks/aws.tfmock.hcl.
mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  lambda_zip_path = "tests/bootstrap.zip"
}

run "plan_with_unknown_arns" {
  command = plan

  module {
    source = "./tests/same_config"
  }

  # Planning at all is the test; what it plans is checked after apply.
  assert {
    condition     = aws_sqs_queue.q.name == "same-config-notifications"
    error_message = "The fixture must plan its queue."
  }
}

run "apply_with_unknown_arns" {
  command = apply

  module {
    source = "./tests/same_config"
  }

  variables {
    kms_key_arns = ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
  }

  assert {
    condition     = module.pusher.async_failures_queue_url != null
    error_message = "The topic passed by its ARN must be subscribed, with its async failures queue."
  }

  # The poison queue's two, the async failures queue's, the SNS dead-letter queue's,
  # the queue's age, errors, throttles, dropped events and records not delivered to the
  # async failures queue: each source passed by an unknown ARN is watched.
  assert {
    condition     = length(module.pusher.alarm_arns) == 9
    error_message = "The alarms of a queue and a topic passed by unknown ARNs must all be made."
  }
}
