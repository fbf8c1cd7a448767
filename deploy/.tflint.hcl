# tflint's configuration for deploy/ (.ci/terraform runs it on the module and the
# example). Only the terraform ruleset, which is built into tflint: the block names no
# source, so nothing is downloaded. The AWS ruleset is a plugin tflint would download
# from GitHub, out of reach offline.
config {
  # Follow the example's call of ../../terraform: a local module needs no terraform init.
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

# Beyond the preset: every input and output says what it is for.
rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}
