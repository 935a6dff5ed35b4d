#!/usr/bin/env bash
# The Django example, from this directory with gello's virtualenv active.
set -euo pipefail
cd "$(dirname "$0")"
python manage.py migrate --run-syncdb --verbosity 0
python manage.py shell -c "from shop.views import sign_up; sign_up('ada@example.com')"
python manage.py gello queue:work --queue emails --stop-when-empty
python manage.py test --verbosity 1
