#!/usr/bin/env bash
# Makes the demo's deploy target under DIR (used by deploy/run-local.sh and the compose demo):
#   DIR/origin.git   a bare repository standing in for github.com/example/app
#   DIR/live         the server's checkout that deploy-worker updates (at the first commit)
# The origin's main has two commits with fixed authors, dates and contents, so their ids are
# the same on every machine; deploy/samples/github-push.json is the push of the second one
# (before = first, after = second = the tip). Deploying it runs ./deploy.sh in DIR/live, which
# writes DIR/DEPLOYED. Idempotent: an existing target is left as it is.
set -euo pipefail

DIR=${1:?usage: make-deploy-target.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [[ -d "$DIR/live/.git" && -d "$DIR/origin.git" ]]; then
  echo "deploy target already in $DIR"
  exit 0
fi
rm -rf "$DIR/origin.git" "$DIR/live" "$DIR/seed"

export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.com
export GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.com
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
git init -q --bare -b main "$DIR/origin.git"
git init -q -b main "$DIR/seed"
cd "$DIR/seed"
cat >deploy.sh <<'SH'
#!/bin/sh
# The demo's deploy command: deploy-worker runs it in the checkout after each deploy, with
# DEPLOY_SHA, DEPLOY_REF, DEPLOY_PUSHER... in its environment.
set -eu
printf 'deployed %s (%s, pushed by %s) from %s\n' "$DEPLOY_SHA" "$DEPLOY_REF" "$DEPLOY_PUSHER" "$(cat VERSION)" >../DEPLOYED
SH
chmod 755 deploy.sh
echo "version 1" >VERSION
git add deploy.sh VERSION
GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
  git commit -q -m "demo app, version 1"
first=$(git rev-parse HEAD)
echo "version 2" >VERSION
git add VERSION
GIT_AUTHOR_DATE="2026-01-02T00:00:00Z" GIT_COMMITTER_DATE="2026-01-02T00:00:00Z" \
  git commit -q -m "demo app, version 2"
git push -q "$DIR/origin.git" main
cd "$DIR"
rm -rf "$DIR/seed"
git clone -q "$DIR/origin.git" "$DIR/live"
git -C "$DIR/live" checkout -q --detach "$first"
echo "deploy target in $DIR: origin.git (main at $(git -C "$DIR/origin.git" rev-parse main)), live at $first"
