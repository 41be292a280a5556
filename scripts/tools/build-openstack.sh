# Sourced by build.sh: pulumi-resource-openstack at the version of @pulumi/openstack.
# shellcheck shell=bash

OPENSTACK_MODULE=github.com/pulumi/pulumi-openstack/provider/v3

# The Go module proxy these machines reach refuses every version of the pulumi-openstack modules (403
# "This module version is not available"), so the plugin cannot be built here. This step says so and
# how to provide the plugin instead; it does not fail the other tools. If the proxy ever serves the
# module, the step still stops with a clear line: building it (a generated schema, an older Go
# toolchain) has never been tried here, and an untried build is not offered as working.
build_openstack() {
  local out="$cache/pulumi-resource-openstack-$OPENSTACK_VERSION"
  if [ -f "$out/.complete" ]; then return; fi
  local probe answer
  probe=$(mktemp -d)
  answer=$(cd "$probe" && GOFLAGS=-mod=mod timeout 120 go list -m -versions "$OPENSTACK_MODULE" 2>&1 || true)
  rm -rf "$probe"
  if [[ $answer == *"403"* || $answer == *"not available"* || $answer == *"not found"* ]]; then
    say "pulumi-resource-openstack $OPENSTACK_VERSION: not built: the Go module proxy refuses $OPENSTACK_MODULE."
  else
    say "pulumi-resource-openstack $OPENSTACK_VERSION: the proxy lists $OPENSTACK_MODULE, but building it is not supported by this script."
  fi
  say "  OpenStack provisioning needs it: put pulumi-resource-openstack (v$OPENSTACK_VERSION) in a directory and"
  say "  pass it with --plugin-dir or NKD_PULUMI_PLUGINS; the OpenStack tests use mocks and need no plugin."
}
