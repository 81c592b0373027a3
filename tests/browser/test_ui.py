"""The web UI in real headless Chromium against real services: every page, live updates,
logs, clear and mark, trigger with conf, import errors, and the grid at size."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect

from airlane.service.connections.fernet import current_cipher
from airlane.service.connections.records import from_record
from tests.browser.conftest import login, shot
from tests.integration.cluster import Api, wait_until

pytestmark = pytest.mark.timeout(300)

EXAMPLES = ["branching", "etl_bash_python", "mapped_files", "simple_airflow_dag", "taskflow_etl"]


def open_dag(page: Page, dag_id: str, tab: str = "grid") -> None:
    page.goto(f"/ui/#/dags/{dag_id}?tab={tab}")
    expect(page.locator("h1")).to_have_text(dag_id)


def activate(page: Page) -> None:
    toggle = page.get_by_label("DAG active")
    # Enabled once the DAG's details have set its real state; is_checked() does not wait.
    expect(toggle).to_be_enabled()
    if not toggle.is_checked():
        toggle.check()


def trigger(page: Page, conf: str | None = None) -> str:
    """Trigger from the DAG page; returns the run id the page then selects."""
    page.click("[data-action=trigger]")
    dialog = page.locator("dialog.modal")
    if conf is not None:
        dialog.locator("textarea").fill(conf)
    dialog.get_by_role("button", name="Trigger").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(".run-label strong")).to_have_text(re.compile(r"^manual__"))
    return page.locator(".run-label strong").inner_text()


def run_from_graph(page: Page, dag_id: str, conf: str | None = None) -> str:
    """Sign in, open the DAG's graph, switch the DAG on and trigger it; the new run's id."""
    login(page)
    open_dag(page, dag_id, "graph")
    activate(page)
    return trigger(page, conf)


def node(page: Page, task_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f".graph-svg .node[data-task-id='{task_id}']")


def test_login_list_trigger_seed_watch_graph_and_read_log(page: Page) -> None:
    page.goto("/")
    expect(page.locator("form.login")).to_be_visible()
    shot(page, "01-login")
    page.fill("#username", "alice")
    page.fill("#password", "wrong")
    page.click("form.login button[type=submit]")
    expect(page.locator("form.login .error")).to_have_text("Wrong username or password.")
    login(page)
    for dag_id in EXAMPLES:
        expect(page.locator(f"tr[data-dag-id='{dag_id}']")).to_be_visible()
    expect(page.locator("tr[data-dag-id='simple_airflow_dag'] td").nth(3)).to_have_text("0:00:10")
    shot(page, "02-dag-list")

    open_dag(page, "simple_airflow_dag", "graph")
    page.evaluate("window.__sameDocument = true")
    activate(page)
    run_id = trigger(page)
    # Both tasks turn green in the graph, live: the page is never reloaded.
    expect(node(page, "print_hello")).to_have_attribute("data-state", "success")
    expect(node(page, "print_world")).to_have_attribute("data-state", "success")
    expect(page.locator(".run-label [data-run-state]")).to_have_text("success")
    assert page.evaluate("window.__sameDocument") is True
    assert run_id.startswith("manual__")
    shot(page, "03-graph-seed-success")

    node(page, "print_hello").click()
    panel = page.locator("aside.ti-panel")
    expect(panel.locator("[data-ti-state]")).to_have_text("success")
    expect(panel.locator("pre.log")).to_contain_text("Hello Airflow")
    expect(panel.locator(".rendered")).to_contain_text('echo "Hello Airflow"')
    shot(page, "04-task-log")
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)

    page.get_by_role("tab", name="Grid").click()
    cell = page.locator(f".cell[data-run-id='{run_id}'][data-task-id='print_world']")
    expect(cell).to_have_attribute("data-state", "success")
    # Each run's bar is as tall as its duration against the longest run in view.
    page.wait_for_function(
        "Math.max(...[...document.querySelectorAll('.run-bar')].map((b) => b.offsetHeight)) >= 60"
    )
    shot(page, "05-grid")
    page.get_by_role("tab", name="Source").click()
    expect(page.locator("pre.source")).to_contain_text("task1 >> task2")
    shot(page, "06-source")
    page.get_by_role("tab", name="Details").click()
    expect(page.locator("dl.details")).to_contain_text("A simple Airflow DAG")
    shot(page, "07-details")
    page.get_by_role("tab", name="Runs").click()
    expect(page.locator(f"tr[data-run-id='{run_id}']")).to_contain_text("success")
    shot(page, "08-runs")
    page.get_by_label("DAG active").uncheck()  # no more runs every 10 s


def test_failed_task_cleared_with_downstream_then_run_succeeds(page: Page, ui: Api) -> None:
    (ui.cluster.markers / "ui_flaky_fixed").unlink(missing_ok=True)
    run_from_graph(page, "ui_flaky", '{"why": "ui test"}')
    expect(node(page, "flaky")).to_have_attribute("data-state", "failed")
    expect(node(page, "after")).to_have_attribute("data-state", "upstream_failed")
    expect(page.locator(".run-label [data-run-state]")).to_have_text("failed")
    shot(page, "09-graph-failed")

    node(page, "flaky").click()
    panel = page.locator("aside.ti-panel")
    expect(panel.locator("pre.log")).to_contain_text("not fixed yet")
    # the operator's extra links: a web address opens in a new tab, a script URL stays text
    runbook = panel.locator(".extra-links a[data-link='Runbook']")
    expect(runbook).to_have_attribute("href", "https://runbooks.example/ui_flaky/flaky")
    expect(runbook).to_have_attribute("target", "_blank")
    expect(panel.locator(".extra-links span[data-link='Script']")).to_be_visible()
    expect(panel.locator(".extra-links a[data-link='Script']")).to_have_count(0)
    (ui.cluster.markers / "ui_flaky_fixed").write_text("fixed")

    panel.locator("[data-action=clear]").click()
    dialog = page.locator("dialog.modal")
    expect(dialog.get_by_label("Downstream")).to_be_checked()
    # The confirmation lists what will change before anything does.
    expect(dialog.locator(".affected li")).to_have_count(2)
    expect(dialog.locator(".affected li[data-task-id='after']")).to_be_visible()
    shot(page, "10-clear-confirmation")
    dialog.locator("[data-action=confirm-clear]").click()
    expect(dialog).to_have_count(0)

    expect(node(page, "flaky")).to_have_attribute("data-state", "success")
    expect(node(page, "after")).to_have_attribute("data-state", "success")
    expect(page.locator(".run-label [data-run-state]")).to_have_text("success")
    expect(panel.locator(".tries button")).to_have_count(2)
    expect(panel.locator("pre.log")).to_contain_text("checking")
    shot(page, "11-cleared-and-succeeded")


def test_a_running_task_log_is_tailed_live(page: Page, ui: Api) -> None:
    run_from_graph(page, "ui_slow")
    expect(node(page, "slow")).to_have_attribute("data-state", "running")
    node(page, "slow").focus()
    page.keyboard.press("Enter")  # the graph works from the keyboard
    panel = page.locator("aside.ti-panel")
    log = panel.locator("pre.log")
    expect(log).to_have_attribute("data-live", "1")
    expect(log).to_contain_text("first line")
    expect(log).not_to_contain_text("last line")
    shot(page, "17-live-log")
    (ui.cluster.markers / "ui_slow_go").write_text("go")
    expect(log).to_contain_text("last line")
    expect(panel.locator("[data-ti-state]")).to_have_text("success")
    expect(log).to_have_attribute("data-live", "0")


def test_a_missed_deadline_shows_beside_the_run(page: Page, ui: Api) -> None:
    run_from_graph(page, "ui_deadline")
    expect(node(page, "wait")).to_have_attribute("data-state", "running")
    missed = page.locator(".run-deadlines [data-deadline=missed]")
    expect(missed).to_contain_text("Deadline missed")  # (its event: no reload)
    expect(missed).to_have_attribute("title", "one second")
    shot(page, "18-deadline-missed")
    (ui.cluster.markers / "ui_deadline_go").write_text("go")
    expect(page.locator(".run-label [data-run-state]")).to_have_text("success")
    expect(missed).to_be_visible()  # a missed deadline stays reported once the run ends


def test_backfill_form_previews_then_creates_runs(page: Page) -> None:
    login(page)
    open_dag(page, "etl_bash_python")
    page.click("[data-action=backfill]")
    dialog = page.locator("dialog.modal")
    dialog.locator("#backfill-from").fill("2024-03-01T00:00:00")
    dialog.locator("#backfill-to").fill("2024-03-03T00:00:00")
    dialog.locator("[data-action=preview]").click()
    expect(dialog.locator(".preview")).to_contain_text("3 runs would be created")
    shot(page, "18-backfill")
    dialog.locator("[data-action=create]").click()
    expect(dialog).to_have_count(0)
    # Backfill runs ignore the pause, as in Airflow 3; the grid shows them as they come.
    expect(page.locator(".grid-corner")).to_contain_text("3 runs")
    expect(page.locator(".run-bar.state-success")).to_have_count(3, timeout=60_000)


def test_mark_failed_lists_downstream_then_marks_then_clear_the_run(page: Page, ui: Api) -> None:
    (ui.cluster.markers / "ui_flaky_fixed").write_text("fixed")
    run_from_graph(page, "ui_flaky")
    expect(node(page, "after")).to_have_attribute("data-state", "success")
    node(page, "flaky").click()
    panel = page.locator("aside.ti-panel")
    expect(panel.locator("[data-ti-state]")).to_have_text("success")
    panel.locator("[data-action=mark-failed]").click()
    dialog = page.locator("dialog.modal")
    expect(dialog.locator(".affected li")).to_have_count(1)
    dialog.get_by_label("Downstream").check()
    expect(dialog.locator(".affected li")).to_have_count(2)
    dialog.locator("[data-action=confirm-mark]").click()
    expect(node(page, "flaky")).to_have_attribute("data-state", "failed")
    expect(node(page, "after")).to_have_attribute("data-state", "failed")
    expect(page.locator(".run-label [data-run-state]")).to_have_text("failed")
    # The whole run cleared from its label: both instances listed, then rerun.
    page.locator("[data-action=clear-run]").click()
    dialog = page.locator("dialog.modal")
    expect(dialog.locator(".affected li")).to_have_count(2)
    dialog.get_by_label("Only failed").check()
    expect(dialog.locator(".affected li")).to_have_count(2)
    shot(page, "19-clear-run")
    dialog.locator("[data-action=confirm-clear-run]").click()
    expect(node(page, "after")).to_have_attribute("data-state", "success")
    expect(page.locator(".run-label [data-run-state]")).to_have_text("success")


def test_a_triggered_run_is_shown_before_the_run_list_is_read_again(page: Page, ui: Api) -> None:
    """The page used to switch to a new run only after reading the run list again: a click on
    a task meanwhile opened the previous run's instance (marked failed there, the new run's
    graph never changed: the mark test's flake on a loaded machine)."""
    token = ui.token()
    status, earlier = ui.call("POST", "/api/v2/dags/ui_flaky/dagRuns", {}, token)
    assert status == 200, earlier
    login(page)
    open_dag(page, "ui_flaky", "graph")
    label = page.locator(".run-label strong")
    expect(label).to_have_text(earlier["dag_run_id"])
    held: list[Route] = []
    released = False

    def run_list(url: str) -> bool:
        return "/ui_flaky/dagRuns?" in url

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(run_list, hold)
    page.click("[data-action=trigger]")
    dialog = page.locator("dialog.modal")
    dialog.locator("#trigger-run-id").fill("ui_shown_at_once")
    with page.expect_request(lambda request: run_list(request.url)):
        dialog.get_by_role("button", name="Trigger").click()
    expect(dialog).to_have_count(0)
    # The run list is still being read: the new run is already the one shown and acted on.
    expect(label).to_have_text("ui_shown_at_once")
    assert "run=ui_shown_at_once" in page.url
    released = True
    for route in held:
        route.continue_()
    page.unroute(run_list, hold)
    expect(label).to_have_text("ui_shown_at_once")


def test_a_change_before_the_event_stream_opens_is_shown(page: Page, ui: Api) -> None:
    """The DAG page read its runs first and subscribed to events after: a task marked in
    between stayed in its old state on the page. Its stream is held open here until the page
    has read the run, and the mark is made meanwhile."""
    (ui.cluster.markers / "ui_flaky_fixed").write_text("fixed")
    token = ui.token()
    dag = "/api/v2/dags/ui_flaky"
    assert ui.call("PATCH", dag, {"is_paused": False}, token)[0] == 200
    run_id = "ui_late_stream"
    assert ui.call("POST", f"{dag}/dagRuns", {"dag_run_id": run_id}, token)[0] == 200
    # Sync clients only: Playwright's sync API holds this thread's event loop.
    wait_until(lambda: ui.cluster.run_state("ui_flaky", run_id) == "success", 60, "the run")
    held: list[Route] = []
    released = False

    def dag_stream(url: str) -> bool:
        return "/api/v2/events?dag_id=ui_flaky" in url

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    login(page)
    page.route(dag_stream, hold)
    page.goto(f"/ui/#/dags/ui_flaky?tab=graph&run={run_id}")
    expect(node(page, "flaky")).to_have_attribute("data-state", "success")
    assert held, "the page's event stream was not asked for"
    body = {"new_state": "failed"}
    flaky = f"{dag}/dagRuns/{run_id}/taskInstances/flaky"
    assert ui.call("PATCH", flaky, body, token)[0] == 200
    wait_until(lambda: ui.call("GET", flaky, token=token)[1]["state"] == "failed", 30, "the mark")
    released = True
    for route in held:
        route.continue_()
    page.unroute(dag_stream, hold)
    expect(node(page, "flaky")).to_have_attribute("data-state", "failed")


def test_signing_out_revokes_the_token(page: Page, ui: Api) -> None:
    login(page)
    token = page.evaluate("sessionStorage.getItem('airlane.token')")
    assert ui.call("GET", "/api/v2/dags", token=token)[0] == 200
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("form.login")).to_be_visible()  # shown once the server has revoked it
    assert ui.call("GET", "/api/v2/dags", token=token) == (
        401,
        {"detail": "Token has been revoked"},
    )


def test_trigger_dialog_refuses_invalid_json_conf(page: Page) -> None:
    login(page)
    open_dag(page, "taskflow_etl")
    page.click("[data-action=trigger]")
    dialog = page.locator("dialog.modal")
    dialog.locator("textarea").fill('{"unclosed": ')
    expect(dialog.locator(".json-status")).to_contain_text("Invalid JSON")
    dialog.get_by_role("button", name="Trigger").click()
    expect(dialog.locator(".error")).to_have_text("Fix the JSON before triggering.")
    dialog.locator("textarea").fill("[1, 2]")
    expect(dialog.locator(".json-status")).to_contain_text("must be a JSON object")
    shot(page, "12-trigger-invalid-conf")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)


def test_broken_dag_file_shows_as_import_error(page: Page) -> None:
    login(page)
    banner = page.locator(".error-banner")
    expect(banner).to_contain_text("1 DAG file does not import")
    banner.get_by_role("link").click()
    error = page.locator(".import-error")
    expect(error).to_contain_text("broken_dag.py")
    expect(error.locator("pre.trace")).to_contain_text("line 4")
    shot(page, "13-import-errors")


def test_workers_and_queues_view(page: Page) -> None:
    login(page)
    page.click("nav >> text=Workers")
    expect(page.locator("table.workers tbody tr[data-worker-id]")).to_have_count(1)
    expect(page.locator("table.workers")).to_contain_text("0 / 8")
    expect(page.locator("table.queues tr[data-queue='default']")).to_be_visible()
    shot(page, "14-workers")


def test_active_toggle_waits_for_the_dags_state(page: Page, ui: Api) -> None:
    """The DAG page's Active box is disabled until the details say whether the DAG is paused
    (an early click on the unchecked box would flip an active DAG off)."""
    token = ui.token()
    assert ui.call("PATCH", "/api/v2/dags/ui_flaky", {"is_paused": False}, token)[0] == 200
    held: list[Route] = []

    def hold(route: Route) -> None:
        if held and held[0] is None:  # released
            route.continue_()
        else:
            held.append(route)

    login(page)
    page.route("**/api/v2/dags/ui_flaky/details", hold)
    page.goto("/ui/#/dags/ui_flaky?tab=grid")
    toggle = page.get_by_label("DAG active")
    expect(toggle).to_be_disabled()
    for _ in range(400):  # the page asks for the details (Playwright dispatches while waiting)
        if held:
            break
        page.wait_for_timeout(50)
    expect(toggle).to_be_disabled()
    held[0].continue_()
    expect(toggle).to_be_enabled()
    expect(toggle).to_be_checked()
    page.unroute("**/api/v2/dags/ui_flaky/details", hold)
    toggle.uncheck()
    expect(toggle).to_be_enabled()
    assert ui.call("GET", "/api/v2/dags/ui_flaky", token=token)[1]["is_paused"] is True


def test_dag_list_search_tags_and_pause(page: Page) -> None:
    login(page)
    page.get_by_label("Search DAGs by id").fill("flaky")
    expect(page.locator("table.dags tbody tr")).to_have_count(1)
    page.get_by_label("Search DAGs by id").fill("")
    page.locator("tr[data-dag-id='etl_bash_python'] button.tag", has_text="etl").click()
    expect(page.locator("table.dags tbody tr")).to_have_count(1)
    expect(page.locator("tr[data-dag-id='etl_bash_python']")).to_be_visible()
    page.locator(".tag-filter button").click()
    expect(page.locator("table.dags tbody tr")).to_have_count(len(EXAMPLES) + 4)
    toggle = page.get_by_label("branching active")
    toggle.check()
    page.reload()
    expect(page.get_by_label("branching active")).to_be_checked()
    page.get_by_label("branching active").uncheck()


def test_grid_of_1000_runs_and_500_tasks_renders_only_what_is_visible(page: Page, ui: Api) -> None:
    """ui_wide stays paused, so its 1,000 runs stay queued (the coordinator does no work)."""
    token = ui.token()
    for i in range(1000):
        body = {
            "dag_run_id": f"bulk__{i:04d}",
            "logical_date": f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
        }
        status, _ = ui.call("POST", "/api/v2/dags/ui_wide/dagRuns", body, token)
        assert status == 200
    login(page)
    open_dag(page, "ui_wide")
    expect(page.locator(".grid-corner")).to_contain_text("1000 runs \u00b7 500 tasks")
    expect(page.locator(".run-bar").first).to_be_visible()
    cells = page.locator(".cell").count()
    # A laptop viewport shows about 50 runs x 30 tasks; 500,000 cells must not exist.
    assert 0 < cells < 5000, cells
    shot(page, "15-grid-1000-runs")
    # Scrolled to the oldest runs, the page of runs not loaded yet loads and shows.
    page.locator(".grid-scroll").evaluate("el => { el.scrollLeft = 0; el.scrollTop = 4000; }")
    expect(page.locator(".run-bar[data-run-id='bulk__0000']")).to_be_visible()
    assert page.locator(".cell").count() < 5000
    # Task groups are rows of their own that fold and unfold their members.
    group = page.locator("button.group-label[data-group-id='group_0']")
    page.locator(".grid-scroll").evaluate("el => { el.scrollTop = 0; }")
    expect(group).to_have_attribute("aria-expanded", "true")
    group.click()
    expect(group).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".grid-corner")).to_contain_text("500 tasks")
    # The keyboard moves the cursor through the grid.
    page.locator(".grid-scroll").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(".cell.cursor")).to_have_count(1)
    page.get_by_role("tab", name="Graph").click()
    expect(page.locator(".graph-svg .node")).to_have_count(500)
    expect(page.locator(".graph-svg .group")).to_have_count(7)
    shot(page, "16-graph-500-tasks")


def test_a_log_of_several_pages_is_shown_whole(page: Page, ui: Api) -> None:
    """The panel reads a finished try's log page by page (the API sends about 1 MB a page)."""
    # Driven with sync clients only: Playwright's sync API holds this thread's event loop.
    token = ui.token()
    dag = "/api/v2/dags/simple_airflow_dag"
    ui.call("PATCH", dag, {"is_paused": False}, token=token)
    run_id = "paged_log"
    status, _ = ui.call("POST", dag + "/dagRuns", {"dag_run_id": run_id}, token=token)
    assert status == 200
    wait_until(
        lambda: ui.cluster.run_state("simple_airflow_dag", run_id) == "success", 60, "the run"
    )
    key = ui.cluster.keys.log("simple_airflow_dag", run_id, "print_hello", -1, 1)
    client = ui.cluster.redis()
    client.delete(key)
    pipe = client.pipeline(transaction=False)
    for i in range(3000):  # about 3 MB: three pages
        pipe.xadd(key, {"line": f"paged line {i:04d} " + "p" * 980})
    pipe.execute()
    client.close()
    login(page)
    page.goto(f"/ui/#/dags/simple_airflow_dag?run={run_id}&task=print_hello")
    log = page.locator("aside.ti-panel pre.log")
    expect(log).to_contain_text("paged line 2999 ")
    text = log.inner_text()
    assert text.count("paged line ") == 3000
    assert text.index("paged line 0000 ") < text.index("paged line 2999 ")


def test_connections_page_adds_edits_and_deletes_with_a_write_only_password(
    page: Page, ui: Api
) -> None:
    login(page)
    page.click("nav >> text=Connections")
    page.click("[data-action=add-connection]")
    dialog = page.locator("dialog.modal")
    dialog.locator("#conn-connection_id").fill("ui_db")
    dialog.locator("#conn-conn_type").fill("postgres")
    dialog.locator("#conn-host").fill("db.local")
    dialog.locator("#conn-port").fill("5432")
    dialog.locator("#conn-password").fill("ui-secret-pw")
    dialog.locator("#conn-extra").fill('{"api_key": "ui-key-123", "sslmode": "require"}')
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    row = page.locator("table.connections tr[data-connection-id='ui_db']")
    expect(row).to_contain_text("db.local")
    expect(row.locator(".conn-password")).to_have_text("set")
    shot(page, "15-connections")

    row.locator("[data-action=edit-connection]").click()
    expect(dialog.locator("#conn-password")).to_have_value("")  # never sent to the page
    expect(dialog.locator("#conn-extra")).to_have_value(re.compile(r'"api_key": "\*\*\*"'))
    dialog.locator("#conn-host").fill("db2.local")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    expect(row).to_contain_text("db2.local")
    assert "ui-secret-pw" not in page.content()
    token = ui.token()
    stored = ui.cluster.redis().hget(ui.cluster.keys.connections, "ui_db") or ""
    assert "db2.local" in stored
    # the password and the *** left in the extra kept what was stored
    kept = from_record("ui_db", stored, current_cipher())
    assert kept.password == "ui-secret-pw"
    assert kept.extra_dejson["api_key"] == "ui-key-123"

    row.locator("[data-action=delete-connection]").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert ui.call("GET", "/api/v2/connections/ui_db", token=token)[0] == 404
