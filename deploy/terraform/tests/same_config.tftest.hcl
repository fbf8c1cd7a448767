# A caller that creates its queue, topic, table and alarm topic in the same
# configuration as the module (tests/same_config): their ARNs are unknown when
# planning, and the module must plan and apply all the same (issue 21: with a count on
# whether the ARN was null, planning failed with "Invalid count argument").

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:mock"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/mock"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:123456789012:function:mock"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:mock/invocations"
      version    = "7"
    }
  }

  mock_resource "aws_lambda_alias" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:123456789012:function:mock:live"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:mock:live/invocations"
    }
  }

  mock_resource "aws_cloudwatch_metric_alarm" {
    defaults = {
      arn = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:mock"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/same-config-connections"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:eu-west-1:123456789012:mock"
    }
  }
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
