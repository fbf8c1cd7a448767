# The first seven inputs keep the names and meaning of the Python pusher's module, so a
# team moving to this one changes its module's source, adds lambda_zip_path, and turns
# on notifications_queue_enabled or notifications_topic_enabled for the ARNs it gives
# (a precondition names the one missing).

variable "prefix" {
  description = "Prefix of the names of what the module creates: the function, its role and log group are named \"<prefix>-pusher\", the poison queue \"<prefix>-pusher-poison\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,57}$", var.prefix))
    error_message = "The prefix must be 1 to 57 letters, digits, hyphens or underscores, so that \"<prefix>-pusher\" is a valid function and role name."
  }
}

variable "common_tags" {
  description = "Tags put on every resource the module creates."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "agma_arn" {
  description = "ARN of the API Gateway Management API's connections, as the Python pusher's module took it: \"<api execution_arn>/<stage>/POST/@connections\". The function is allowed execute-api:ManageConnections on \"<agma_arn>/*\" (a \"/*\" given at the end is not doubled)."
  type        = string

  validation {
    condition     = can(regex("^arn:[^:]+:execute-api:[^:]+:[0-9]{12}:[^/]+/[^/]+/[^/]+/@connections(/\\*)?$", var.agma_arn))
    error_message = "The agma_arn must look like arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/POST/@connections."
  }
}

variable "apigw_endpoint" {
  description = "Endpoint of the API Gateway Management API the function posts to (APIGW_ENDPOINT): https://API_ID.execute-api.REGION.amazonaws.com/STAGE, or a custom domain's URL with its base path."
  type        = string

  validation {
    condition     = can(regex("^https?://[^/]+", var.apigw_endpoint))
    error_message = "The apigw_endpoint must be a URL such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod."
  }
}

variable "connections_table" {
  description = "The DynamoDB table of connections (hash key user_id, range key connection_id): its name (CONNECTIONS_TABLE_NAME) and its ARN (what the role may read and write)."
  type = object({
    name = string
    arn  = string
  })
  nullable = false

  validation {
    condition     = can(regex("^arn:[^:]+:dynamodb:[^:]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.connections_table.arn))
    error_message = "The connections_table.arn must be a table's ARN: arn:aws:dynamodb:REGION:ACCOUNT:table/NAME."
  }

  validation {
    condition     = try(split(":table/", var.connections_table.arn)[1], "") == var.connections_table.name
    error_message = "The connections_table.name must be the name of the table connections_table.arn names."
  }
}

variable "subscriptions_table" {
  description = "The DynamoDB table of topic subscriptions (hash key topic, range key connection_id, and a global secondary index \"by-connection\" of hash key connection_id and range key topic, keys only: see the README), or null for no topics: its name (SUBSCRIPTIONS_TABLE_NAME) and its ARN (what the role may read and write, with the index)."
  type = object({
    name = string
    arn  = string
  })
  default = null

  # can and try: || may evaluate both of its operands (Terraform before 1.12 does), and
  # an attribute of null is an error.
  validation {
    condition     = var.subscriptions_table == null || can(regex("^arn:[^:]+:dynamodb:[^:]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.subscriptions_table.arn))
    error_message = "The subscriptions_table.arn must be a table's ARN: arn:aws:dynamodb:REGION:ACCOUNT:table/NAME."
  }

  validation {
    condition     = var.subscriptions_table == null || try(split(":table/", var.subscriptions_table.arn)[1] == var.subscriptions_table.name, false)
    error_message = "The subscriptions_table.name must be the name of the table subscriptions_table.arn names."
  }
}

variable "notifications_topic_enabled" {
  description = "Whether to subscribe the function to notifications_topic_arn. A toggle of its own, not whether the ARN is null, so that the ARN of a topic created in the same configuration (aws_sns_topic.t.arn, unknown when planning) can be passed."
  type        = bool
  default     = false
  nullable    = false
}

variable "notifications_topic_arn" {
  description = "SNS topic of notification requests to subscribe the function to (with notifications_topic_enabled), or null for none. It may be unknown when planning."
  type        = string
  default     = null

  validation {
    condition     = var.notifications_topic_arn == null || can(regex("^arn:[^:]+:sns:[^:]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.notifications_topic_arn))
    error_message = "The notifications_topic_arn must be a standard (not FIFO: Lambda cannot subscribe to those) topic's ARN: arn:aws:sns:REGION:ACCOUNT:NAME."
  }
}

variable "notifications_queue_enabled" {
  description = "Whether the function reads notifications_queue_arn. A toggle of its own, not whether the ARN is null, so that the ARN of a queue created in the same configuration (aws_sqs_queue.q.arn, unknown when planning) can be passed."
  type        = bool
  default     = false
  nullable    = false
}

variable "notifications_queue_arn" {
  description = "SQS queue of notification requests for the function to read in batches (with notifications_queue_enabled), or null for none. It may be unknown when planning."
  type        = string
  default     = null

  validation {
    condition     = var.notifications_queue_arn == null || can(regex("^arn:[^:]+:sqs:[^:]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\\.fifo)?$", var.notifications_queue_arn))
    error_message = "The notifications_queue_arn must be a queue's ARN: arn:aws:sqs:REGION:ACCOUNT:NAME."
  }
}

variable "broadcast_split" {
  description = "Splitting of broadcasts over a large table into segment tasks put back on the notifications queue, which the function's concurrent invocations share (see the repository's docs/fleet.md), or null to split none: above is the estimated number of connections over which a broadcast is split (BROADCAST_SPLIT_ABOVE), segment_size the connections of one task (BROADCAST_SEGMENT_SIZE, 10000 by default), max_segments the most tasks of one broadcast (BROADCAST_MAX_SEGMENTS, 1000 by default). It needs notifications_queue_arn, a standard queue, which the function may then send to."
  type = object({
    above        = number
    segment_size = optional(number, 10000)
    max_segments = optional(number, 1000)
  })
  default = null

  # try: an attribute of null is an error, and || may evaluate both of its operands.
  validation {
    condition     = var.broadcast_split == null || try(var.broadcast_split.above >= 1 && floor(var.broadcast_split.above) == var.broadcast_split.above, false)
    error_message = "The broadcast_split.above must be a whole number of connections, at least 1."
  }

  validation {
    condition     = var.broadcast_split == null || try(var.broadcast_split.segment_size >= 1 && floor(var.broadcast_split.segment_size) == var.broadcast_split.segment_size, false)
    error_message = "The broadcast_split.segment_size must be a whole number of connections, at least 1."
  }

  validation {
    condition     = var.broadcast_split == null || try(var.broadcast_split.max_segments >= 2 && var.broadcast_split.max_segments <= 1000000 && floor(var.broadcast_split.max_segments) == var.broadcast_split.max_segments, false)
    error_message = "The broadcast_split.max_segments must be a whole number from 2 to 1000000 (DynamoDB's most segments of a Scan)."
  }
}

variable "post_rate" {
  description = "Posts a second of each instance of the function (POST_RATE), or null to leave posts unpaced. API Gateway throttles an account's calls in a Region at 10,000 a second (a burst of 5,000) across all its APIs, PostToConnection included: set what the account's other APIs leave, divided by the function's instances that may post at once (its reserved concurrency, or the event source mapping's). A 429 lowers an instance's rate, posts that pass raise it back (see the repository's docs/pacing.md)."
  type        = number
  default     = null

  validation {
    condition     = var.post_rate == null || try(var.post_rate >= 0, false)
    error_message = "The post_rate must be a number of posts a second, 0 or more."
  }
}

variable "fleet_post_rate" {
  description = "Posts a second that the segment tasks of one split broadcast share, across every instance of the function (FLEET_POST_RATE), or null for no share: each task posts at most this divided by the number of tasks, so that however many run at once they stay under it. It matters with broadcast_split only (see the repository's docs/pacing.md)."
  type        = number
  default     = null

  validation {
    condition     = var.fleet_post_rate == null || try(var.fleet_post_rate >= 0, false)
    error_message = "The fleet_post_rate must be a number of posts a second, 0 or more."
  }
}

variable "authorizer" {
  description = "The $connect Lambda authorizer the module creates (\"<prefix>-pusher-authorizer\", from the same zip, with PUSHER_ROLE=authorizer) on the API of agma_arn, or null for none (then any client may connect as any user_id: see the README). It checks a JWT in the query parameter token_param (CONNECT_TOKEN_PARAM, \"token\" by default): signed with the HS256 key kept in the Secrets Manager secret or SSM parameter secret_arn (CONNECT_TOKEN_SECRET_ARN, which the authorizer may read), or with a key of the JWK set at jwks_url (CONNECT_TOKEN_JWKS_URL), one of the two; its iss and aud when issuer and audience are given; the user in user_claim (\"sub\" by default) and the topic patterns granted in topics_claim (\"topics\" by default). With it, the pusher refuses a $connect without the authorizer's user (AUTHORIZER_REQUIRED)."
  type = object({
    jwks_url     = optional(string)
    secret_arn   = optional(string)
    issuer       = optional(string)
    audience     = optional(string)
    user_claim   = optional(string, "sub")
    topics_claim = optional(string, "topics")
    token_param  = optional(string, "token")
  })
  default = null

  # can and try: || may evaluate both of its operands (Terraform before 1.12 does), and
  # an attribute of null is an error.
  validation {
    condition     = var.authorizer == null || try((var.authorizer.jwks_url == null) != (var.authorizer.secret_arn == null), false)
    error_message = "The authorizer needs exactly one of jwks_url (RS256 and ES256 keys) and secret_arn (an HS256 key)."
  }

  validation {
    condition     = var.authorizer == null || try(var.authorizer.jwks_url == null, false) || can(regex("^https://[^/?#\\s]+(/\\S*)?$", var.authorizer.jwks_url))
    error_message = "The authorizer.jwks_url must be an https URL, such as https://cognito-idp.REGION.amazonaws.com/POOL_ID/.well-known/jwks.json."
  }

  # A secret's full ARN, with the six characters Secrets Manager adds to its name: the
  # authorizer's grant is on exactly this ARN, which a partial one would not match.
  validation {
    condition     = var.authorizer == null || try(var.authorizer.secret_arn == null, false) || can(regex("^arn:[^:]+:secretsmanager:[^:]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.authorizer.secret_arn)) || can(regex("^arn:[^:]+:ssm:[^:]+:[0-9]{12}:parameter/[A-Za-z0-9_.\\-/]+$", var.authorizer.secret_arn))
    error_message = "The authorizer.secret_arn must be a Secrets Manager secret's full ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-xxxxxx, as aws_secretsmanager_secret's arn) or an SSM parameter's (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)."
  }

  # API Gateway's pattern of a request parameter in an identity source.
  validation {
    condition     = var.authorizer == null || can(regex("^[A-Za-z0-9._-]{1,128}$", var.authorizer.token_param))
    error_message = "The authorizer.token_param must be a query parameter's name: 1 to 128 letters, digits, dots, hyphens or underscores."
  }

  validation {
    condition     = var.authorizer == null || can(regex("^\\S+$", var.authorizer.user_claim)) && can(regex("^\\S+$", var.authorizer.topics_claim)) && try(var.authorizer.user_claim != var.authorizer.topics_claim, false)
    error_message = "The authorizer.user_claim and authorizer.topics_claim must be the names of two claims: not empty, no blanks."
  }
}

variable "poison_queue" {
  description = "The poison queue the module creates (POISON_QUEUE_URL), where the pusher parks what it could neither deliver nor retry, with the reason: message_retention_seconds is how long parked messages are kept (60 to 1209600, 14 days by default)."
  type = object({
    message_retention_seconds = optional(number, 1209600)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.poison_queue.message_retention_seconds >= 60 && var.poison_queue.message_retention_seconds <= 1209600 && floor(var.poison_queue.message_retention_seconds) == var.poison_queue.message_retention_seconds
    error_message = "The poison_queue.message_retention_seconds must be a whole number from 60 to 1209600 (14 days)."
  }
}

variable "batch_size" {
  description = "Most SQS messages the function gets in one invocation (1 to 10000; over 10 needs maximum_batching_window_in_seconds of at least 1, and a FIFO queue takes at most 10)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "The batch_size must be a whole number from 1 to 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Longest time, 0 to 300 seconds, Lambda gathers SQS messages before invoking the function with fewer than batch_size; 0 invokes as soon as there are messages."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "The maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "lambda_zip_path" {
  description = "Path of the zip holding the pusher's Lambda binary, named bootstrap, at its root (see the README), built for architecture."
  type        = string

  validation {
    condition     = can(regex("\\.zip$", var.lambda_zip_path))
    error_message = "The lambda_zip_path must be the path of a .zip file."
  }
}

variable "architecture" {
  description = "Instruction set of the function: \"arm64\" (the binary built with GOARCH=arm64) or \"x86_64\" (GOARCH=amd64)."
  type        = string
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "The architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB (128 to 10240); Lambda gives CPU and network in proportion."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "The memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Longest run of one invocation, in seconds (1 to 900). The notifications queue's visibility timeout must be at least this (AWS refuses the event source mapping otherwise, and recommends six times it)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "The timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "log_retention_in_days" {
  description = "How many days the function's logs are kept (one of CloudWatch Logs' retention periods; 0 keeps them forever)."
  type        = number
  default     = 14
  nullable    = false

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "The log_retention_in_days must be 0 or one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "environment" {
  description = "More environment variables of the function: IDENTITY_PARAM, AUTHORIZER_USER_KEY, TTL_ATTRIBUTE and CONNECTION_TTL, POST_CONCURRENCY, POST_BURST (with post_rate only), MAX_ATTEMPTS, DEADLINE_MARGIN, LOG_LEVEL, ... (see the repository's docs/settings.md). APIGW_ENDPOINT, CONNECTIONS_TABLE_NAME, SUBSCRIPTIONS_TABLE_NAME, POISON_QUEUE_URL, NOTIFICATIONS_QUEUE_URL, BROADCAST_*, AUTHORIZER_REQUIRED, KINESIS_MAPPING, EVENTBRIDGE_MAPPING, ANONYMOUS_CONNECTIONS, TOPIC_PARAMS, POST_RATE and FLEET_POST_RATE come from the other inputs. The authorizer's function, if any, takes AUTHORIZER_USER_KEY, TOPIC_GRANTS_KEY and LOG_LEVEL from here too, so that both read its context alike."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = length([for k in keys(var.environment) : k if !can(regex("^[A-Za-z][A-Za-z0-9_]*$", k))]) == 0
    error_message = "The environment's names must be a letter followed by letters, digits or underscores."
  }

  # Lambda sets these itself and refuses a function that sets them: "Defined runtime
  # environment variables" of docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
  # lists the reserved keys (_HANDLER, _X_AMZN_TRACE_ID, AWS_DEFAULT_REGION, AWS_REGION,
  # AWS_EXECUTION_ENV, AWS_LAMBDA_FUNCTION_NAME and the other AWS_LAMBDA_* it sets,
  # AWS_ACCESS_KEY, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
  # LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR). AWS_LAMBDA_* is refused as a whole, but the
  # two the same page lists as not reserved, which a function may set:
  # AWS_LAMBDA_EXEC_WRAPPER (a wrapper script of the runtime) and
  # AWS_LAMBDA_DOTNET_PREJIT. Refused here, at plan, rather than by the API at apply.
  validation {
    condition     = length([for k in keys(var.environment) : k if contains(["_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"], k) || startswith(k, "AWS_LAMBDA_") && !contains(["AWS_LAMBDA_EXEC_WRAPPER", "AWS_LAMBDA_DOTNET_PREJIT"], k)]) == 0
    error_message = "The environment must not set a name Lambda reserves (_HANDLER, _X_AMZN_TRACE_ID, AWS_DEFAULT_REGION, AWS_REGION, AWS_EXECUTION_ENV, AWS_LAMBDA_* but AWS_LAMBDA_EXEC_WRAPPER and AWS_LAMBDA_DOTNET_PREJIT, AWS_ACCESS_KEY, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR): Lambda sets them, and refuses the function at apply."
  }

  validation {
    condition     = length([for k in keys(var.environment) : k if contains(["APIGW_ENDPOINT", "CONNECTIONS_TABLE_NAME", "SUBSCRIPTIONS_TABLE_NAME", "POISON_QUEUE_URL", "NOTIFICATIONS_QUEUE_URL", "BROADCAST_SPLIT_ABOVE", "BROADCAST_SEGMENT_SIZE", "BROADCAST_MAX_SEGMENTS", "AUTHORIZER_REQUIRED", "PUSHER_ROLE", "KINESIS_MAPPING", "EVENTBRIDGE_MAPPING", "ANONYMOUS_CONNECTIONS", "TOPIC_PARAMS", "POST_RATE", "FLEET_POST_RATE"], k)]) == 0
    error_message = "The environment must not set APIGW_ENDPOINT, CONNECTIONS_TABLE_NAME, SUBSCRIPTIONS_TABLE_NAME, POISON_QUEUE_URL, NOTIFICATIONS_QUEUE_URL, BROADCAST_*, AUTHORIZER_REQUIRED, PUSHER_ROLE, KINESIS_MAPPING, EVENTBRIDGE_MAPPING, ANONYMOUS_CONNECTIONS, TOPIC_PARAMS, POST_RATE or FLEET_POST_RATE: they come from apigw_endpoint, connections_table, subscriptions_table, the module's poison queue, broadcast_split (the role may send to the queue only then), authorizer (the pusher refuses a $connect without the authorizer's user only then; the function is the pusher, the authorizer its own function), kinesis_mapping, eventbridge_mapping, anonymous_connections, topic_params, post_rate and fleet_post_rate."
  }
}

variable "kinesis_stream" {
  description = "Seed 002's Kinesis data stream for the function to read, or null for none (see the README): an event source mapping on arn that reports partial batch failures by sequence number, bisects a batch the function fails on, retries it at most maximum_retry_attempts times (0 to 10000, 3 by default) and while its records are younger than maximum_record_age_in_seconds (60 to 604800, an hour by default), then sends a record of it to the queue \"<prefix>-pusher-kinesis-dlq\" the module creates; starting_position (\"LATEST\", the default, or \"TRIM_HORIZON\"), batch_size (1 to 10000, 100 by default), maximum_batching_window_in_seconds (0 to 300), parallelization_factor (batches of a shard at once, 1 to 10, 1 by default; a partition key's records keep their order). shard_count is the stream's number of shards (1 by default; an on-demand stream's most open shards): the mapping runs up to shard_count × parallelization_factor instances at once, which reserved_concurrent_executions must hold besides the queue's and the routes' (aws_kinesis_stream.x.shard_count for a provisioned stream made beside). kms_key_arn is the customer managed KMS key the stream is encrypted with, for the role to decrypt its records with (null: none, or AWS's own key). The role may read the stream. Its ARN may be unknown when planning."
  type = object({
    arn                                = string
    starting_position                  = optional(string, "LATEST")
    batch_size                         = optional(number, 100)
    maximum_batching_window_in_seconds = optional(number, 0)
    parallelization_factor             = optional(number, 1)
    shard_count                        = optional(number, 1)
    maximum_retry_attempts             = optional(number, 3)
    maximum_record_age_in_seconds      = optional(number, 3600)
    kms_key_arn                        = optional(string)
  })
  default = null

  # can and try: || may evaluate both of its operands (Terraform before 1.12 does), and
  # an attribute of null is an error.
  validation {
    condition     = var.kinesis_stream == null || can(regex("^arn:[^:]+:kinesis:[^:]+:[0-9]{12}:stream/[A-Za-z0-9_.-]{1,128}$", var.kinesis_stream.arn))
    error_message = "The kinesis_stream.arn must be a stream's ARN: arn:aws:kinesis:REGION:ACCOUNT:stream/NAME."
  }

  # AT_TIMESTAMP would need a timestamp, which a deployment made again would move.
  validation {
    condition     = var.kinesis_stream == null || try(contains(["LATEST", "TRIM_HORIZON"], var.kinesis_stream.starting_position), false)
    error_message = "The kinesis_stream.starting_position must be \"LATEST\" or \"TRIM_HORIZON\"."
  }

  validation {
    condition     = var.kinesis_stream == null || try(var.kinesis_stream.batch_size >= 1 && var.kinesis_stream.batch_size <= 10000 && floor(var.kinesis_stream.batch_size) == var.kinesis_stream.batch_size, false)
    error_message = "The kinesis_stream.batch_size must be a whole number of records from 1 to 10000."
  }

  validation {
    condition     = var.kinesis_stream == null || try(var.kinesis_stream.maximum_batching_window_in_seconds >= 0 && var.kinesis_stream.maximum_batching_window_in_seconds <= 300 && floor(var.kinesis_stream.maximum_batching_window_in_seconds) == var.kinesis_stream.maximum_batching_window_in_seconds, false)
    error_message = "The kinesis_stream.maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }

  validation {
    condition     = var.kinesis_stream == null || try(var.kinesis_stream.parallelization_factor >= 1 && var.kinesis_stream.parallelization_factor <= 10 && floor(var.kinesis_stream.parallelization_factor) == var.kinesis_stream.parallelization_factor, false)
    error_message = "The kinesis_stream.parallelization_factor must be a whole number from 1 to 10."
  }

  # The reservation's share of the stream (the function's precondition). A stream's
  # ARN made in the same apply is unknown while planning; its shard count may be too.
  validation {
    condition     = var.kinesis_stream == null || try(var.kinesis_stream.shard_count >= 1 && floor(var.kinesis_stream.shard_count) == var.kinesis_stream.shard_count, false)
    error_message = "The kinesis_stream.shard_count must be the stream's number of shards, a whole number, 1 or more."
  }

  # Bounded, not Lambda's -1 (forever): a batch the function keeps failing on holds its
  # shard back until the record expires from the stream, a day or more.
  validation {
    condition     = var.kinesis_stream == null || try(var.kinesis_stream.maximum_retry_attempts >= 0 && var.kinesis_stream.maximum_retry_attempts <= 10000 && floor(var.kinesis_stream.maximum_retry_attempts) == var.kinesis_stream.maximum_retry_attempts, false)
    error_message = "The kinesis_stream.maximum_retry_attempts must be a whole number from 0 to 10000 (not -1: a failing batch would hold its shard back until its records expire)."
  }

  validation {
    condition     = var.kinesis_stream == null || try(var.kinesis_stream.maximum_record_age_in_seconds >= 60 && var.kinesis_stream.maximum_record_age_in_seconds <= 604800 && floor(var.kinesis_stream.maximum_record_age_in_seconds) == var.kinesis_stream.maximum_record_age_in_seconds, false)
    error_message = "The kinesis_stream.maximum_record_age_in_seconds must be a whole number from 60 to 604800 (7 days; not -1: a failing batch would hold its shard back until its records expire)."
  }

  validation {
    condition     = var.kinesis_stream == null || try(var.kinesis_stream.kms_key_arn == null, false) || can(regex("^arn:[^:]+:kms:[^:]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kinesis_stream.kms_key_arn))
    error_message = "The kinesis_stream.kms_key_arn must be a KMS key's ARN, arn:aws:kms:REGION:ACCOUNT:key/KEY_ID (not an alias: the grant is on the key)."
  }
}

variable "kinesis_mapping" {
  description = "KINESIS_MAPPING: the JMESPath expression that builds a request of a Kinesis record's data, such as seed 002's {topics: [VehicleID]}, or null: the data is a request (see the repository's docs/sources.md). It maps the records of kinesis_stream and those an EventBridge Pipe puts on the notifications queue alike."
  type        = string
  default     = null

  validation {
    condition     = var.kinesis_mapping == null || can(regex("^\\s*\\{[\\s\\S]*\\}\\s*$", var.kinesis_mapping))
    error_message = "The kinesis_mapping must be a JMESPath multiselect hash, such as {topics: [VehicleID]}."
  }
}

variable "eventbridge_mapping" {
  description = "EVENTBRIDGE_MAPPING: the JMESPath expression that builds a request of an EventBridge event (source, detail-type, detail, ...), such as seed 003's {topics: [detail.entityId], data: detail.message}, or null: the event's detail is the request (see the repository's docs/sources.md). It maps the events of eventbridge_rules, through the queue or to the function alike."
  type        = string
  default     = null

  validation {
    condition     = var.eventbridge_mapping == null || can(regex("^\\s*\\{[\\s\\S]*\\}\\s*$", var.eventbridge_mapping))
    error_message = "The eventbridge_mapping must be a JMESPath multiselect hash, such as {topics: [detail.entityId], data: detail.message}."
  }
}

variable "eventbridge_rules" {
  description = "Seed 003's EventBridge rules, by a short name (the rule is \"<prefix>-pusher-<name>\"): each matches event_pattern (JSON) on the bus event_bus_name (\"default\" by default), and targets \"queue\" (the default: the notifications queue, seed 003's wiring, which the module's queue policy lets exactly these rules send to) or \"function\" (the function, invoked asynchronously). EventBridge retries a delivery that fails at most maximum_retry_attempts times (0 to 185, 185 by default) within maximum_event_age_in_seconds (60 to 86400, a day by default), then puts the event in the queue \"<prefix>-pusher-events-dlq\" the module creates. See the README."
  type = map(object({
    event_pattern                = string
    event_bus_name               = optional(string, "default")
    description                  = optional(string)
    target                       = optional(string, "queue")
    maximum_retry_attempts       = optional(number, 185)
    maximum_event_age_in_seconds = optional(number, 86400)
  }))
  default  = {}
  nullable = false

  # Part of the rule's name, and of its permission's statement id.
  validation {
    condition     = alltrue([for name in keys(var.eventbridge_rules) : can(regex("^[A-Za-z0-9_-]{1,32}$", name))])
    error_message = "The eventbridge_rules' names must be 1 to 32 letters, digits, hyphens or underscores."
  }

  validation {
    condition     = alltrue([for r in values(var.eventbridge_rules) : can(jsondecode(r.event_pattern)) && can(keys(jsondecode(r.event_pattern)))])
    error_message = "Each of eventbridge_rules' event_pattern must be a JSON object, such as jsonencode({ source = [\"orders\"], \"detail-type\" = [\"Order Updated\"] })."
  }

  validation {
    condition     = alltrue([for r in values(var.eventbridge_rules) : contains(["queue", "function"], r.target)])
    error_message = "Each of eventbridge_rules' target must be \"queue\" (the notifications queue) or \"function\"."
  }

  validation {
    condition     = alltrue([for r in values(var.eventbridge_rules) : can(regex("^[A-Za-z0-9/_.-]{1,256}$", r.event_bus_name))])
    error_message = "Each of eventbridge_rules' event_bus_name must be the name of an event bus of this account and Region (\"default\" for the default bus)."
  }

  validation {
    condition     = alltrue([for r in values(var.eventbridge_rules) : r.maximum_retry_attempts >= 0 && r.maximum_retry_attempts <= 185 && floor(r.maximum_retry_attempts) == r.maximum_retry_attempts])
    error_message = "Each of eventbridge_rules' maximum_retry_attempts must be a whole number from 0 to 185."
  }

  validation {
    condition     = alltrue([for r in values(var.eventbridge_rules) : r.maximum_event_age_in_seconds >= 60 && r.maximum_event_age_in_seconds <= 86400 && floor(r.maximum_event_age_in_seconds) == r.maximum_event_age_in_seconds])
    error_message = "Each of eventbridge_rules' maximum_event_age_in_seconds must be a whole number from 60 to 86400 (a day)."
  }
}

variable "notifications_queue_policy_documents" {
  description = "The other statements of the notifications queue's policy, as policy documents (JSON), when an EventBridge rule targets the queue: the module then writes the queue's policy, and a queue has one, so statements written elsewhere (an aws_sqs_queue_policy letting an SNS topic send, say) would be overwritten. Put them here instead. Their Sids must differ from the module's, \"EventBridgeRules\"."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for d in var.notifications_queue_policy_documents : can(jsondecode(d).Statement)])
    error_message = "Each of notifications_queue_policy_documents must be a policy document's JSON, such as data.aws_iam_policy_document's json."
  }
}

variable "anonymous_connections" {
  description = "ANONYMOUS_CONNECTIONS: whether the function accepts a $connect that names no user (seeds 002 and 003, whose clients connect with ?VehicleID= or nothing). Such connections are reached by topics and broadcasts, never by a users request; topic rules apply to them as to anyone. false (the default): such a $connect is refused with 401."
  type        = bool
  default     = false
  nullable    = false
}

variable "topic_params" {
  description = "TOPIC_PARAMS: the $connect query parameters whose values subscribe the connection to topics, such as [\"topic\", \"VehicleID\"] for seed 002's ?VehicleID=v-42, or null for the pusher's default, [\"topic\"]."
  type        = list(string)
  default     = null

  # API Gateway's pattern of a request parameter; a comma would split the setting.
  validation {
    condition     = var.topic_params == null || try(length(var.topic_params) >= 1 && alltrue([for p in var.topic_params : can(regex("^[A-Za-z0-9._-]{1,128}$", p))]), false)
    error_message = "The topic_params must be one or more query parameters' names: 1 to 128 letters, digits, dots, hyphens or underscores each."
  }
}

variable "maximum_concurrency" {
  description = "Most invocations the SQS event source mapping keeps running at once (its scaling_config.maximum_concurrency, 2 to 1000). Bounded by default: without it Lambda scales a busy queue by up to 300 instances a minute up to 1,000 (docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html), and a split broadcast of a thousand tasks would take the account's concurrency and, at POST_CONCURRENCY posts in flight each, API Gateway's 10,000 requests a second that every API of the Region shares. See the README's \"Concurrency\"."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000 && floor(var.maximum_concurrency) == var.maximum_concurrency
    error_message = "The maximum_concurrency must be a whole number from 2 to 1000 (Lambda's range of an SQS mapping's maximum concurrency)."
  }
}

variable "reserved_concurrent_executions" {
  description = "The function's reserved concurrency: the most instances of it at once, from every source (the SQS and Kinesis mappings, SNS, EventBridge, and the WebSocket API's $connect, $disconnect, subscribe and unsubscribe), taken out of the account's pool so that other functions cannot starve it, nor it them. It must be at least route_concurrency plus maximum_concurrency (with the queue) plus kinesis_stream's shard_count × parallelization_factor (with the stream), so that the sources at their most leave room for the routes, whichever sources there are; null leaves the function unreserved (unbounded but by the account). See the README's \"Concurrency\"."
  type        = number
  default     = 20
  nullable    = true

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "The reserved_concurrent_executions must be a whole number, 1 or more, or null for none (0 would stop every invocation)."
  }
}

variable "route_concurrency" {
  description = "Instances kept, within reserved_concurrent_executions, for what is neither the SQS nor the Kinesis mapping: the WebSocket routes (a $connect is one PutItem, tens of milliseconds: 100 connects a second take about 5 instances), SNS's and EventBridge's invocations. A precondition holds reserved_concurrent_executions at this plus maximum_concurrency (with the queue) plus kinesis_stream's shard_count × parallelization_factor (with the stream), at least."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.route_concurrency >= 1 && floor(var.route_concurrency) == var.route_concurrency
    error_message = "The route_concurrency must be a whole number, 1 or more."
  }
}

variable "async_maximum_retry_attempts" {
  description = "How many times Lambda retries an asynchronous invocation (SNS's, an EventBridge rule's with target \"function\") that failed, 0 to 2, before it sends its record to the module's async failures queue."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = contains([0, 1, 2], var.async_maximum_retry_attempts)
    error_message = "The async_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "async_maximum_event_age_in_seconds" {
  description = "How long Lambda keeps an asynchronous event it could not yet run (throttled, say), 60 to 21600 seconds, before it sends its record to the async failures queue. Six hours (AWS's most) by default."
  type        = number
  default     = 21600
  nullable    = false

  validation {
    condition     = var.async_maximum_event_age_in_seconds >= 60 && var.async_maximum_event_age_in_seconds <= 21600 && floor(var.async_maximum_event_age_in_seconds) == var.async_maximum_event_age_in_seconds
    error_message = "The async_maximum_event_age_in_seconds must be a whole number from 60 to 21600 (six hours)."
  }
}

variable "publish" {
  description = "Whether each change of the function's code or configuration publishes a version, which the alias then points to (true, the default: a deployment is one step an alias can be moved back from). false points the alias at $LATEST."
  type        = bool
  default     = true
  nullable    = false
}

variable "alias_name" {
  description = "Name of the function's alias, which the event source mappings, the SNS subscription and EventBridge's targets invoke (outputs alias_arn and alias_invoke_arn)."
  type        = string
  default     = "live"
  nullable    = false

  # Lambda's pattern of an alias name; a name of digits alone would be a version.
  validation {
    condition     = can(regex("^[a-zA-Z0-9-_]{1,128}$", var.alias_name)) && !can(regex("^[0-9]+$", var.alias_name))
    error_message = "The alias_name must be 1 to 128 letters, digits, hyphens or underscores, not digits alone."
  }
}

variable "kms_key_arns" {
  description = "Customer managed KMS keys of the queues the function reads or sends to (the notifications queue; its key when broadcasts are split), for the role to use: kms:Decrypt to receive, kms:GenerateDataKey as well to send (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html). The keys' policies must allow the account's IAM policies, as a key's default policy does. Queues with SQS-managed keys (SSE-SQS) need none. The Kinesis stream's key is kinesis_stream.kms_key_arn."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for k in var.kms_key_arns : can(regex("^arn:[^:]+:kms:[^:]+:[0-9]{12}:key/[A-Za-z0-9-]+$", k))])
    error_message = "Each of kms_key_arns must be a KMS key's ARN, arn:aws:kms:REGION:ACCOUNT:key/KEY_ID (not an alias: the grant is on the key)."
  }
}

variable "role_path" {
  description = "Path of the module's IAM roles (\"/\" by default), such as \"/service-role/\" where an organisation's policies expect one. Set it when the roles are first made: IAM cannot change a role's path, so a change replaces the role, and the module makes the new role before it deletes the old (so that the function is never without one), which IAM refuses under the same name (EntityAlreadyExists) when applied."
  type        = string
  default     = "/"
  nullable    = false

  validation {
    condition     = can(regex("^/([\\x21-\\x7E]{0,510}/)?$", var.role_path))
    error_message = "The role_path must begin and end with /, such as /service-role/."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of the managed policy that bounds the module's IAM roles (their permissions boundary), or null for none: where an organisation lets a team create roles only under its boundary."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null || can(regex("^arn:[^:]+:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary))
    error_message = "The role_permissions_boundary must be a managed policy's ARN: arn:aws:iam::ACCOUNT:policy/NAME."
  }
}

variable "alarm_actions" {
  description = "ARNs to notify when an alarm fires (SNS topics, say), or [] (the default) for no alarms. With some, the module makes the CloudWatch alarms of the README's \"Alarms\": the poison queue holding messages, and its oldest near expiry; each dead-letter queue holding messages; the notifications queue's oldest request older than queue_age_alarm_seconds, the stream's records older than iterator_age_alarm_seconds; the function's errors, throttles, dropped asynchronous events and records its on-failure destinations did not get."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "ok_actions" {
  description = "ARNs to notify when an alarm returns to OK, with alarm_actions."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "queue_age_alarm_seconds" {
  description = "Age, in seconds, of the notifications queue's oldest request over which its alarm fires (with alarm_actions and a queue): requests wait that long unworked (a stuck function, too little concurrency). 300 by default."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.queue_age_alarm_seconds >= 60 && floor(var.queue_age_alarm_seconds) == var.queue_age_alarm_seconds
    error_message = "The queue_age_alarm_seconds must be a whole number of seconds, 60 or more."
  }
}

variable "iterator_age_alarm_seconds" {
  description = "Age, in seconds, of the Kinesis stream's records when the function gets them (its IteratorAge) over which their alarm fires (with alarm_actions and kinesis_stream): records wait that long unworked (a stuck shard, a failing function, too few shards or too little parallelization_factor). 300 by default; keep it under kinesis_stream.maximum_record_age_in_seconds, past which Lambda gives a batch up."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.iterator_age_alarm_seconds >= 60 && floor(var.iterator_age_alarm_seconds) == var.iterator_age_alarm_seconds
    error_message = "The iterator_age_alarm_seconds must be a whole number of seconds, 60 or more."
  }
}

variable "alarm_dead_letter_queues" {
  description = "Other dead-letter queues to alarm on when they hold a message (with alarm_actions), by a short name known when planning: the notifications queue's redrive queue, say ({ notifications = aws_sqs_queue.notifications_dlq.name }). Their names, not ARNs: CloudWatch's SQS metrics are by QueueName. The module's own (the async failures, Kinesis and EventBridge dead-letter queues) are alarmed on without this."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.alarm_dead_letter_queues) : can(regex("^[A-Za-z0-9_-]{1,64}$", k))])
    error_message = "The alarm_dead_letter_queues' keys must be 1 to 64 letters, digits, hyphens or underscores."
  }
}
