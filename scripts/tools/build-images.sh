# Sourced by build.sh: the tools of the air-gap images (scripts/images): the distribution registry,
# which serves them, and crane, which pushes them. Neither module has replace directives.
# shellcheck shell=bash

build_registry() {
  local out="$cache/registry-$REGISTRY_VERSION"
  if [ -f "$out/.complete" ]; then return; fi
  say "building the distribution registry $REGISTRY_VERSION (cold: 1-3 minutes)"
  local t0
  t0=$(date +%s)
  rm -rf "$out" && mkdir -p "$out/bin"
  GOBIN="$out/bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION" \
    "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
  "$out/bin/registry" --version | grep -q "$REGISTRY_VERSION" || fail "the built registry does not report $REGISTRY_VERSION"
  finish "$out" "$t0"
}

build_crane() {
  local out="$cache/crane-$CRANE_VERSION"
  if [ -f "$out/.complete" ]; then return; fi
  say "building crane $CRANE_VERSION (cold: 1-2 minutes)"
  local t0
  t0=$(date +%s)
  rm -rf "$out" && mkdir -p "$out/bin"
  GOBIN="$out/bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$CRANE_VERSION" \
    "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
  "$out/bin/crane" version | grep -qx "$CRANE_VERSION" || fail "the built crane does not report $CRANE_VERSION"
  finish "$out" "$t0"
}
