#!/usr/bin/env bash
# Refresh the Swagger UI and ReDoc files that /docs and /redoc serve, from the npm registry.
# Usage: scripts/vendor-docs-assets.sh [SWAGGER_UI_VERSION] [REDOC_VERSION]
# Then record the versions in specs/2-backend-api/research.md and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."

SWAGGER_UI_VERSION="${1:-5.35.0}"
REDOC_VERSION="${2:-2.5.4}"
DEST=backend/app/static/docs
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "swagger-ui-dist@${SWAGGER_UI_VERSION}" "redoc@${REDOC_VERSION}" >/dev/null)
mkdir -p "$work/swagger" "$work/redoc"
tar -xzf "$work/swagger-ui-dist-${SWAGGER_UI_VERSION}.tgz" -C "$work/swagger"
tar -xzf "$work/redoc-${REDOC_VERSION}.tgz" -C "$work/redoc"

rm -rf "$DEST"
mkdir -p "$DEST/swagger-ui" "$DEST/redoc"
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css \
    favicon-32x32.png LICENSE NOTICE; do
    cp "$work/swagger/package/$file" "$DEST/swagger-ui/$file"
done
for file in bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE; do
    cp "$work/redoc/package/$file" "$DEST/redoc/$(basename "$file")"
done
# Source maps are not shipped; drop the comments that point browsers at them.
sed -i '/^\/\/# sourceMappingURL=/d' "$DEST/swagger-ui/swagger-ui-bundle.js" "$DEST/redoc/redoc.standalone.js"
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$DEST/swagger-ui/swagger-ui.css"
printf 'swagger-ui-dist %s\nredoc %s\n' "$SWAGGER_UI_VERSION" "$REDOC_VERSION" > "$DEST/VERSIONS"
echo "vendored swagger-ui-dist ${SWAGGER_UI_VERSION} and redoc ${REDOC_VERSION} into ${DEST}"
