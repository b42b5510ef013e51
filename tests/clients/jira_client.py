"""The `jira` package drives the sandbox's Jira half the way a user's script would.

Two flavours against one fresh sandbox: Cloud (REST v3, basic auth with email + API token,
ADF bodies, the enhanced `search/jql` with `nextPageToken`) and Data Center (REST v2, a
bearer personal access token, wiki-markup strings, `/search` with `startAt`). Each uses its
own project created through the control API, so nothing depends on the seed. A step the
package cannot complete is a sandbox bug: the sandbox is fixed, never this script.
"""

from __future__ import annotations

import sys
import warnings

from jira import JIRA, JIRAError

from harness import SANDBOX, Steps, control, expect, expect_eq

#: Issues in each flavour's project for the paging step: more than two pages of 25.
MANY = 60
#: Page size asked for in the paging step.
PAGE = 25

steps = Steps("jira")


def adf(text: str) -> dict:
    """A one-paragraph Atlassian Document Format body (what v3 takes for rich text)."""
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


def adf_text(doc: object) -> str:
    """The text of an ADF document (or the string itself on v2)."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, dict):
        return doc.get("text", "") + "".join(adf_text(c) for c in doc.get("content", []))
    return ""


class Flavour:
    """One way of talking to Jira: API version, auth, project, and how bodies look."""

    def __init__(self, name: str, version: str, project: str, **auth: object) -> None:
        self.name = name
        self.version = version
        self.project = project
        self.auth = auth
        self.cloud = version == "3"
        self.jira: JIRA | None = None
        self.issue_key = ""
        self.epic_key = ""

    def body(self, text: str) -> object:
        return adf(text) if self.cloud else text

    def step(self, what: str, fn, needs: tuple[str, ...] = ()) -> None:
        steps.run(f"{self.name}: {what}", fn, needs=tuple(f"{self.name}: {n}" for n in needs))

    # The steps, in order.

    def connect(self) -> None:
        control("POST", "/_sandbox/jira/projects", {"key": self.project, "name": f"{self.name} clients", "components": ["API"]})
        # The constructor reads serverInfo (get_server_info=True): deploymentType decides
        # which search and createmeta endpoints the package uses.
        self.jira = JIRA(server=SANDBOX, options={"rest_api_version": self.version}, timeout=15, max_retries=0, **self.auth)
        expect_eq(self.jira._is_cloud, self.cloud, "deploymentType is Cloud")
        info = self.jira.server_info()
        expect_eq(info["baseUrl"], SANDBOX, "serverInfo baseUrl")
        expect(len(info["versionNumbers"]) == 3, "serverInfo versionNumbers")

    def myself(self) -> None:
        me = self.jira.myself()
        expect(me.get("displayName"), "myself has a displayName")
        expect_eq(self.jira.current_user(), me["accountId"] if self.cloud else me["name"], "current_user")

    def fields(self) -> None:
        fields = {f["id"]: f for f in self.jira.fields()}
        for want in ("summary", "description", "labels", "issuetype", "project"):
            expect(want in fields, f"field {want} listed")
        names = {f["name"] for f in fields.values()}
        expect({"Epic Link", "Epic Name"} <= names, "agile custom fields listed")

    def createmeta(self) -> None:
        j = self.jira
        if self.cloud:
            # Cloud: the package's createmeta() calls GET issue/createmeta?projectKeys=…
            meta = j.createmeta(projectKeys=self.project, expand="projects.issuetypes.fields")
            projects = meta["projects"]
            expect_eq([p["key"] for p in projects], [self.project], "projects in createmeta")
            types = {t["name"]: t for t in projects[0]["issuetypes"]}
            expect({"Epic", "Story", "Task"} <= set(types), f"issue types: {sorted(types)}")
            expect("summary" in types["Task"]["fields"], "Task has a summary field")
            expect(types["Task"]["fields"]["summary"]["required"], "summary is required")
            # Cloud serves the paged endpoints too; the package guards them for DC only, so
            # read them through its session.
            paged = j._get_json(f"issue/createmeta/{self.project}/issuetypes")
            ids = {t["name"]: t["id"] for t in paged["issueTypes"]}
            expect("Story" in ids, "paged createmeta lists Story")
            fields = j._get_json(f"issue/createmeta/{self.project}/issuetypes/{ids['Story']}")
            expect("summary" in {f["fieldId"] for f in fields["fields"]}, "Story fields include summary")
        else:
            # Data Center 9: createmeta() refuses; project_issue_types / project_issue_fields.
            try:
                j.createmeta(projectKeys=self.project)
            except JIRAError:
                pass
            else:
                raise AssertionError("createmeta() should refuse on Jira 9 (the sandbox says 9.12)")
            types = {t.name: t for t in j.project_issue_types(self.project)}
            expect({"Epic", "Story", "Task"} <= set(types), f"issue types: {sorted(types)}")
            fields = {f.fieldId: f for f in j.project_issue_fields(self.project, types["Story"].id)}
            expect("summary" in fields and fields["summary"].required, "Story requires summary")

    def create(self) -> None:
        j = self.jira
        epic_fields = {"project": self.project, "summary": f"{self.name} epic", "issuetype": {"name": "Epic"}}
        if not self.cloud:
            epic_fields["customfield_10011"] = f"{self.name} epic"  # Epic Name, required on DC
        epic = j.create_issue(fields=epic_fields)
        self.epic_key = epic.key
        link = {"parent": {"key": epic.key}} if self.cloud else {"customfield_10008": epic.key}
        # issuetype by name string: the package looks it up through project?expand=issueTypes.
        issue = j.create_issue(
            project=self.project,
            summary=f"{self.name} story",
            description=self.body("Why is this SRE? Because."),
            issuetype="Story",
            labels=["council-sync", "pyclient"],
            components=[{"name": "API"}],
            **link,
        )
        expect(issue.key.startswith(f"{self.project}-"), f"key {issue.key}")
        expect_eq(issue.fields.summary, f"{self.name} story", "summary")
        expect_eq(sorted(issue.fields.labels), ["council-sync", "pyclient"], "labels")
        expect_eq(issue.fields.issuetype.name, "Story", "issuetype")
        expect_eq(issue.fields.status.name, "To Do", "status")
        expect_eq([c.name for c in issue.fields.components], ["API"], "components")
        # The package turns JSON objects into attribute holders: read ADF from .raw.
        expect_eq(adf_text(issue.raw["fields"]["description"]).strip(), "Why is this SRE? Because.", "description")
        if self.cloud:
            expect_eq(issue.fields.parent.key, epic.key, "parent")
        else:
            expect_eq(issue.fields.customfield_10008, epic.key, "Epic Link")
        self.issue_key = issue.key

    def bulk(self) -> None:
        j = self.jira
        rows = [
            {"project": {"key": self.project}, "summary": f"bulk {n}", "issuetype": {"name": "Task"}, "labels": ["bulk"]}
            for n in range(MANY)
        ]
        # Jira takes at most 50 per bulk call: the first 50, then the rest.
        done = j.create_issues(rows[:50]) + j.create_issues(rows[50:])
        expect_eq([r["status"] for r in done], ["Success"] * MANY, "bulk statuses")
        bad = j.create_issues(
            [
                {"project": {"key": self.project}, "summary": "good one", "issuetype": {"name": "Task"}},
                {"project": {"key": self.project}, "issuetype": {"name": "Task"}},  # no summary
            ],
            prefetch=False,
        )
        expect_eq([r["status"] for r in bad], ["Success", "Error"], "statuses with one bad element")
        expect("summary" in bad[1]["error"], f"the error names the field: {bad[1]['error']}")

    def search(self) -> None:
        j = self.jira
        jql = f"project = {self.project} AND labels = bulk ORDER BY key ASC"
        first = j.search_issues(jql, maxResults=PAGE)
        expect_eq(len(first), PAGE, "first page")
        if self.cloud:
            # search_issues on Cloud goes to the enhanced search/jql, paged by nextPageToken.
            expect(first.nextPageToken, "a nextPageToken after the first page")
            keys = [i.key for i in first]
            token = first.nextPageToken
            while token:
                page = j.enhanced_search_issues(jql, nextPageToken=token, maxResults=PAGE)
                keys += [i.key for i in page]
                token = page.nextPageToken
            everything = j.enhanced_search_issues(jql, maxResults=False)
        else:
            expect_eq(first.total, MANY, "total")
            keys = [i.key for i in first]
            start = PAGE
            while start < first.total:
                page = j.search_issues(jql, startAt=start, maxResults=PAGE)
                expect_eq(page.startAt, start, "startAt echoed")
                keys += [i.key for i in page]
                start += PAGE
            everything = j.search_issues(jql, maxResults=False)
        expect_eq(len(keys), MANY, "issues over all pages")
        expect_eq(len(set(keys)), MANY, "no issue twice")
        expect_eq([i.key for i in everything], keys, "maxResults=False fetches all, same order")
        summaries = [i.fields.summary for i in j.search_issues(jql, maxResults=3, fields="summary")]
        expect_eq(summaries, ["bulk 0", "bulk 1", "bulk 2"], "fields=summary, ordered by key")
        found = j.search_issues(f"parent = {self.epic_key}" if self.cloud else f'"Epic Link" = {self.epic_key}')
        expect_eq([i.key for i in found], [self.issue_key], "stories of the epic")

    def transitions(self) -> None:
        j = self.jira
        # Transition names belong to the workflow; find them by the status they lead to.
        def leading_to(status: str) -> dict:
            listed = j.transitions(self.issue_key)
            found = [t for t in listed if t["to"]["name"] == status]
            expect(len(found) == 1, f"one transition to {status}: {[(t['name'], t['to']['name']) for t in listed]}")
            return found[0]

        start = leading_to("In Progress")
        j.transition_issue(self.issue_key, start["name"])
        expect_eq(j.issue(self.issue_key).fields.status.name, "In Progress", "status after transition by name")
        j.transition_issue(self.issue_key, leading_to("Done")["id"])
        expect_eq(j.issue(self.issue_key).fields.status.name, "Done", "status after transition by id")
        try:
            j.transition_issue(self.issue_key, "99999")
        except JIRAError as e:
            expect_eq(e.status_code, 400, "an unknown transition id")
        else:
            raise AssertionError("an unknown transition id should be refused")

    def remote_links(self) -> None:
        j = self.jira
        url = "https://github.com/acme/platform-concerns/issues/7"
        with warnings.catch_warnings():
            # add_remote_link asks for application links first; only admins may list them
            # on a real Jira, and the package warns and goes on, as here.
            warnings.simplefilter("ignore")
            j.add_remote_link(self.issue_key, {"url": url, "title": "Concern #7"}, globalId="gh-7", relationship="council concern")
            j.add_remote_link(self.issue_key, {"url": url, "title": "Concern #7 (renamed)"}, globalId="gh-7")
            j.add_remote_link(self.issue_key, {"url": "https://example.com/runbook", "title": "Runbook"})
        links = j.remote_links(self.issue_key)
        titles = sorted(l.object.title for l in links)
        expect_eq(titles, ["Concern #7 (renamed)", "Runbook"], "links (upsert by globalId)")
        one = j.remote_link(self.issue_key, links[0].id)
        expect_eq(one.object.url, links[0].object.url, "remote_link by id")

    def comments(self) -> None:
        j = self.jira
        c = j.add_comment(self.issue_key, self.body("Started on the failover drill."))
        expect_eq(adf_text(c.raw["body"]), "Started on the failover drill.", "comment body")
        listed = j.comments(self.issue_key)
        expect_eq([x.id for x in listed], [c.id], "comments listed")
        again = j.comment(self.issue_key, c.id)
        expect_eq(adf_text(again.raw["body"]), "Started on the failover drill.", "comment by id")
        expect_eq(again.author.displayName, j.myself()["displayName"], "comment author")

    def errors(self) -> None:
        j = self.jira
        try:
            j.issue(f"{self.project}-99999")
        except JIRAError as e:
            expect_eq(e.status_code, 404, "a missing issue")
        else:
            raise AssertionError("a missing issue should be 404")
        anonymous = JIRA(server=SANDBOX, options={"rest_api_version": self.version}, get_server_info=False, max_retries=0)
        try:
            anonymous.myself()
        except JIRAError as e:
            expect_eq(e.status_code, 401, "no credentials")
        else:
            raise AssertionError("no credentials should be 401")

    def run(self) -> None:
        self.step("connect (serverInfo)", self.connect)
        self.step("myself", self.myself, needs=("connect (serverInfo)",))
        self.step("fields", self.fields, needs=("connect (serverInfo)",))
        self.step("createmeta", self.createmeta, needs=("connect (serverInfo)",))
        self.step("create epic and story", self.create, needs=("connect (serverInfo)",))
        self.step(f"bulk create {MANY} + a bad element", self.bulk, needs=("connect (serverInfo)",))
        self.step(f"JQL search paged by {PAGE}", self.search, needs=(f"bulk create {MANY} + a bad element", "create epic and story"))
        self.step("transitions", self.transitions, needs=("create epic and story",))
        self.step("remote links", self.remote_links, needs=("create epic and story",))
        self.step("comments", self.comments, needs=("create epic and story",))
        self.step("404 and 401", self.errors, needs=("connect (serverInfo)",))


def main() -> int:
    Flavour("cloud v3 basic", "3", "PYC", basic_auth=("pyclient@example.com", "api-token")).run()
    Flavour("dc v2 bearer", "2", "PYD", token_auth="personal-access-token").run()
    return steps.finish()


if __name__ == "__main__":
    sys.exit(main())
