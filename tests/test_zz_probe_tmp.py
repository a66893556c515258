import pytest
from polaris_api.app import create_app
from polaris_api.services import sync_runs
from tests.sync_helpers import sync

@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings()

@pytest.fixture
async def app(db, settings):
    application = create_app(settings)
    yield application
    await sync_runs.stop_background_runs(application)
    await application.state.engine.dispose()

async def test_probe(client, admin, sf):
    sf.admin.clear_requests()
    run = await sync(client, admin["headers"], "weekly")
    print(run["status"], [(p["kind"], p["id"]) for p in run["parts"]])
    for r in sf.admin.requests():
        print(r)
