"""PyGithub drives the sandbox's GitHub half the way a user's script would.

Run by scripts/clients against a fresh sandbox; it sets up its own organisation, repository
and team through the control API, so it never depends on the seed. A step PyGithub cannot
complete is a sandbox bug: the sandbox is fixed, never this script.
"""

from __future__ import annotations

import sys

from github import Auth, Github, GithubException, UnknownObjectException

from harness import SANDBOX, Steps, control, expect, expect_eq

ORG = "pyclients"
REPO = f"{ORG}/client-check"
TEAM = "reviewers"
#: Issues opened for the pagination step: more than one page of 100.
MANY = 105
#: Of those, how many get closed (so `state` filtering is checked too).
CLOSED = 5

steps = Steps("pygithub")
ctx: dict = {}


def setup() -> None:
    repo = control("POST", "/_sandbox/github/repos", {"owner": ORG, "name": "client-check"})
    ctx["repo_id"] = repo["id"]
    members = f"/_sandbox/github/orgs/{ORG}/teams/{TEAM}/members"
    control("POST", members, {"login": "carol"})
    control("POST", members, {"login": "erin", "state": "pending"})
    control("POST", members, {"login": "dave", "role": "maintainer"})
    # alice exists (she opens an issue) but is in no team.
    control("POST", f"/_sandbox/github/repos/{REPO}/issues", {"as": "alice", "title": "alice was here"})
    # Base URL without a trailing slash, as GitHub Enterprise users write it. PyGithub's own
    # politeness pauses (0.25 s between requests, 1 s between writes) are client-side only;
    # turned off so the step stays fast.
    opts = dict(auth=Auth.Token("pygithub-token"), timeout=15, seconds_between_requests=0, seconds_between_writes=0)
    ctx["gh"] = Github(base_url=SANDBOX, per_page=100, **opts)
    ctx["gh30"] = Github(base_url=SANDBOX, **opts)


def get_repo() -> None:
    repo = ctx["gh"].get_repo(REPO)
    expect_eq(repo.full_name, REPO, "full_name")
    expect_eq(repo.id, ctx["repo_id"], "id")
    expect_eq(repo.owner.login, ORG, "owner.login")
    expect_eq(repo.owner.type, "Organization", "owner.type")
    ctx["repo"] = repo


def authenticated_user() -> None:
    me = ctx["gh"].get_user()
    expect_eq(me.login, "council-sync-bot", "login of the token's user")
    alice = ctx["gh"].get_user("alice")
    expect_eq(alice.login, "alice", "GET /users/alice")
    ctx["me"] = me.login


def create_issue() -> None:
    repo = ctx["repo"]
    issue = repo.create_issue(title="Flaky failover", body="first body", labels=["sre-concern"])
    expect_eq(issue.title, "Flaky failover", "title")
    expect_eq(issue.body, "first body", "body")
    expect_eq(issue.state, "open", "state")
    expect_eq([l.name for l in issue.labels], ["sre-concern"], "labels")
    expect_eq(issue.user.login, ctx["me"], "author")
    again = repo.get_issue(issue.number)
    expect_eq(again.id, issue.id, "id read back")
    ctx["issue"] = issue


def edit_title_body() -> None:
    issue = ctx["issue"]
    issue.edit(title="Flaky failover in eu-west", body="second body")
    expect_eq(issue.title, "Flaky failover in eu-west", "title after edit")
    fresh = ctx["repo"].get_issue(issue.number)
    expect_eq((fresh.title, fresh.body), ("Flaky failover in eu-west", "second body"), "read back")


def labels() -> None:
    issue = ctx["issue"]
    issue.add_to_labels("needs-info", "team/payments")
    names = sorted(l.name for l in issue.get_labels())
    expect_eq(names, ["needs-info", "sre-concern", "team/payments"], "after add_to_labels")
    # A name with a slash must survive the path segment.
    issue.remove_from_labels("team/payments")
    issue.remove_from_labels("needs-info")
    names = sorted(l.name for l in ctx["repo"].get_issue(issue.number).labels)
    expect_eq(names, ["sre-concern"], "after remove_from_labels")
    issue.set_labels("sre-concern", "ready-for-council")
    names = sorted(l.name for l in ctx["repo"].get_issue(issue.number).labels)
    expect_eq(names, ["ready-for-council", "sre-concern"], "after set_labels")
    try:
        issue.remove_from_labels("never-added")
    except GithubException as e:
        expect_eq((e.status, e.data.get("message")), (404, "Label does not exist"), "missing label")
    else:
        raise AssertionError("removing a label the issue lacks should be 404")
    label = ctx["repo"].get_label("ready-for-council")
    expect_eq(label.name, "ready-for-council", "repository label")


def comments() -> None:
    issue = ctx["issue"]
    comment = issue.create_comment("first comment")
    expect_eq(comment.body, "first comment", "body")
    expect_eq(comment.user.login, ctx["me"], "author")
    comment.edit("edited comment")
    expect_eq(comment.body, "edited comment", "body after edit")
    second = issue.create_comment("second comment")
    listed = [(c.id, c.body) for c in issue.get_comments()]
    expect_eq(listed, [(comment.id, "edited comment"), (second.id, "second comment")], "listed")
    expect_eq(issue.get_comment(comment.id).body, "edited comment", "get_comment")
    second.delete()
    expect_eq(ctx["repo"].get_issue(issue.number).comments, 1, "comment count after delete")


def close_not_planned() -> None:
    issue = ctx["issue"]
    issue.edit(state="closed", state_reason="not_planned")
    fresh = ctx["repo"].get_issue(issue.number)
    expect_eq(fresh.state, "closed", "state")
    expect_eq(fresh.state_reason, "not_planned", "state_reason")
    expect(fresh.closed_at is not None, "closed_at is set")
    expect_eq(fresh.closed_by.login if fresh.closed_by else None, ctx["me"], "closed_by")


def reopen() -> None:
    issue = ctx["issue"]
    issue.edit(state="open")
    fresh = ctx["repo"].get_issue(issue.number)
    expect_eq(fresh.state, "open", "state")
    expect_eq(fresh.state_reason, "reopened", "state_reason")
    expect_eq(fresh.closed_at, None, "closed_at")


def paginate_past_100() -> None:
    path = f"/_sandbox/github/repos/{REPO}/issues"
    numbers = []
    for n in range(MANY):
        numbers.append(control("POST", path, {"as": "bob", "title": f"bulk {n}", "labels": ["bulk"]})["number"])
    for n in numbers[:CLOSED]:
        control("PATCH", f"{path}/{n}", {"as": "bob", "state": "closed"})
    repo = ctx["repo"]
    total = MANY + 2  # alice's issue and the one created above
    seen = [i.number for i in repo.get_issues(state="all")]
    expect_eq(len(seen), total, "issues in state=all, 100 per page")
    expect_eq(sorted(seen), list(range(1, total + 1)), "numbers seen once each")
    expect_eq(seen[:3], [total, total - 1, total - 2], "newest first")
    expect_eq(repo.get_issues(state="all").totalCount, total, "totalCount (from Link last)")
    # PyGithub's default page of 30: four pages, following Link rel=next.
    repo30 = ctx["gh30"].get_repo(REPO)
    expect_eq(sum(1 for _ in repo30.get_issues(state="all")), total, "issues at 30 per page")
    expect_eq(repo30.get_issues(state="open").totalCount, total - CLOSED, "open issues")
    expect_eq(repo30.get_issues(state="closed").totalCount, CLOSED, "closed issues")
    bulk = repo.get_issues(state="all", labels=[repo.get_label("bulk")])
    expect_eq(bulk.totalCount, MANY, "issues labelled bulk")
    asc = [i.number for i in repo.get_issues(state="all", direction="asc")[:2]]
    expect_eq(asc, [1, 2], "direction=asc")


def etag_304() -> None:
    repo = ctx["repo"]
    n = ctx["issue"].number
    issue = repo.get_issue(n)
    expect(bool(issue.etag), "the issue came with an ETag")
    expect_eq(issue.update(), False, "update() with an unchanged issue (304)")
    status, _headers, _body = ctx["gh"].requester.requestJson(
        "GET", issue.url, headers={"If-None-Match": issue.etag}
    )
    expect_eq(status, 304, "raw conditional GET with If-None-Match")
    control("PATCH", f"/_sandbox/github/repos/{REPO}/issues/{n}", {"as": "alice", "title": "Retitled by alice"})
    expect_eq(issue.update(), True, "update() after alice's edit")
    expect_eq(issue.title, "Retitled by alice", "title after update()")
    expect_eq(issue.update(), False, "update() again (304)")


def team_membership() -> None:
    gh = ctx["gh"]
    org = gh.get_organization(ORG)
    expect_eq(org.login, ORG, "organisation login")
    team = org.get_team_by_slug(TEAM)
    expect_eq(team.slug, TEAM, "team slug")
    expect(team.id > 0, "team id")
    expect_eq(team.get_team_membership("carol").state, "active", "carol's membership")
    expect_eq(team.get_team_membership("dave").role, "maintainer", "dave's role")
    expect_eq(team.get_team_membership("erin").state, "pending", "erin's membership")
    try:
        team.get_team_membership("alice")
    except UnknownObjectException:
        pass
    else:
        raise AssertionError("alice is no member: the membership should be 404")
    expect_eq(team.has_in_members(gh.get_user("carol")), True, "has_in_members(carol)")
    expect_eq(team.has_in_members(gh.get_user("alice")), False, "has_in_members(alice)")
    expect_eq(team.has_in_members(gh.get_user("erin")), False, "has_in_members(erin, pending)")
    members = sorted(m.login for m in team.get_members())
    expect_eq(members, ["carol", "dave"], "active members listed")


def errors() -> None:
    repo = ctx["repo"]
    try:
        repo.get_issue(9999)
    except UnknownObjectException as e:
        expect_eq(e.status, 404, "status")
    else:
        raise AssertionError("a missing issue should be 404")
    try:
        Github(base_url=SANDBOX, timeout=15).get_repo(REPO)
    except GithubException as e:
        expect_eq(e.status, 401, "status without a token")
    else:
        raise AssertionError("no token should be 401")


def main() -> int:
    steps.run("setup through the control API", setup)
    steps.run("get_repo", get_repo, needs=("setup through the control API",))
    steps.run("get_user (token's user, by login)", authenticated_user, needs=("get_repo",))
    steps.run("create_issue", create_issue, needs=("get_user (token's user, by login)",))
    steps.run("edit title and body", edit_title_body, needs=("create_issue",))
    steps.run("add, remove and set labels", labels, needs=("create_issue",))
    steps.run("create, edit, list, delete comments", comments, needs=("create_issue",))
    steps.run("close as not_planned", close_not_planned, needs=("create_issue",))
    steps.run("reopen", reopen, needs=("close as not_planned",))
    steps.run(f"paginate {MANY + 2} issues", paginate_past_100, needs=("get_repo",))
    steps.run("conditional GET with ETag (304)", etag_304, needs=("create_issue",))
    steps.run("team membership", team_membership, needs=("setup through the control API",))
    steps.run("404 and 401", errors, needs=("get_repo",))
    return steps.finish()


if __name__ == "__main__":
    sys.exit(main())
