"""The editorial workflow and the public reads, driven through a client
generated from /openapi.json (openapi-python-client), as a downstream team
would: login, article, claim, appearance, evidence, verdict, submit,
publish by another reviewer, fact check, ClaimReview, feed.

Usage: python3 workflow.py BASE_URL CLIENT_DIR
with CONTRACT_EDITOR / CONTRACT_EDITOR_PASSWORD (roles: editor) and
CONTRACT_REVIEWER / CONTRACT_REVIEWER_PASSWORD (roles: reviewer) in the
environment. Exits non-zero on the first outcome that is not as expected.
"""

import os
import sys
import uuid

base_url, client_dir = sys.argv[1], sys.argv[2]
sys.path.insert(0, client_dir)

from claimledger_client import AuthenticatedClient, Client  # noqa: E402
from claimledger_client.api.articles import create_article  # noqa: E402
from claimledger_client.api.auth import get_current_editor, issue_token  # noqa: E402
from claimledger_client.api.claims import create_appearance, create_claim, get_claim  # noqa: E402
from claimledger_client.api.evidence import create_evidence  # noqa: E402
from claimledger_client.api.factchecks import get_claim_review, get_fact_check, get_fact_check_feed  # noqa: E402
from claimledger_client.api.verdicts import create_verdict, publish_verdict, submit_verdict  # noqa: E402
from claimledger_client.models import (  # noqa: E402
    AppearanceInput,
    ArticleInput,
    ClaimantKind,
    ClaimInput,
    EvidenceInput,
    FactCheckOut,
    FeedChange,
    LoginIn,
    Problem,
    Rating,
    Stance,
    TransitionInput,
    VerdictInput,
    VerdictStatus,
)

run = uuid.uuid4().hex[:8]
checks = 0


def expect(condition, what):
    global checks
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    checks += 1


def ok(response, status, what):
    expect(response.status_code == status, f"{what}: expected {status}, got {response.status_code} {response.content[:500]!r}")
    return response.parsed


def login(username, password):
    r = issue_token.sync_detailed(client=Client(base_url=base_url), body=LoginIn(username=username, password=password))
    token = ok(r, 200, f"login as {username}")
    expect(token.token_type.lower() == "bearer" and token.expires_in > 0, "a bearer token with a lifetime")
    return AuthenticatedClient(base_url=base_url, token=token.access_token)


public = Client(base_url=base_url)

# A wrong password is a problem document, typed by the client.
r = issue_token.sync_detailed(client=public, body=LoginIn(username=os.environ["CONTRACT_EDITOR"], password="not-the-password"))
expect(r.status_code == 401 and isinstance(r.parsed, Problem), "a wrong password is 401 problem+json")
expect(r.headers["content-type"].startswith("application/problem+json"), "problems are application/problem+json")

editor = login(os.environ["CONTRACT_EDITOR"], os.environ["CONTRACT_EDITOR_PASSWORD"])
reviewer = login(os.environ["CONTRACT_REVIEWER"], os.environ["CONTRACT_REVIEWER_PASSWORD"])
me = ok(get_current_editor.sync_detailed(client=editor), 200, "who am I")
expect(me.username == os.environ["CONTRACT_EDITOR"], "the token names its account")

quote = f"The ministry said {run} bridges were rebuilt in a single week."
article = ok(
    create_article.sync_detailed(
        client=editor,
        body=ArticleInput(
            title=f"Bridges rebuilt ({run})",
            language="en",
            body=f"Reporting from the capital.\n\n{quote}\n\nEngineers disputed the figure.",
            publisher="Contract Gazette",
            published_on="2023-07-17",
        ),
        idempotency_key=f"article-{run}",
    ),
    201,
    "create an article",
)

statement = f"{run} bridges were rebuilt in a single week."
claim = ok(
    create_claim.sync_detailed(
        client=editor,
        body=ClaimInput(
            statement=statement,
            language="en",
            claimant=f"Ministry of Works {run}",
            claimant_kind=ClaimantKind.ORGANIZATION,
            tags=["infrastructure"],
        ),
        idempotency_key=f"claim-{run}",
    ),
    201,
    "create a claim",
)
expect(claim.statement == statement, "the claim is stored as sent")

# The same Idempotency-Key replays the first response: no second claim.
again = ok(
    create_claim.sync_detailed(
        client=editor,
        body=ClaimInput(statement=statement, language="en", claimant=f"Ministry of Works {run}", claimant_kind=ClaimantKind.ORGANIZATION, tags=["infrastructure"]),
        idempotency_key=f"claim-{run}",
    ),
    201,
    "replay the claim",
)
expect(again.id == claim.id, "a retry with the same Idempotency-Key is the same claim")

appearance = ok(
    create_appearance.sync_detailed(claim.id, client=editor, body=AppearanceInput(article_id=article.id, exact=quote)),
    201,
    "record where the claim appears",
)
expect(appearance.article_id == article.id and appearance.selector.exact == quote, "the appearance quotes the article")

evidence = ok(
    create_evidence.sync_detailed(
        claim.id,
        client=editor,
        body=EvidenceInput(
            stance=Stance.REFUTES,
            summary="The works register lists two bridges reopened that month.",
            url=f"https://example.org/register/{run}",
            title="Public works register",
        ),
    ),
    201,
    "add evidence",
)

verdict_r = create_verdict.sync_detailed(
    claim.id,
    client=editor,
    body=VerdictInput(
        rating=Rating.FALSE,
        headline=f"No, {run} bridges were not rebuilt in a week",
        summary="The register shows two bridges reopened that month.",
        evidence_ids=[evidence.id],
    ),
)
verdict = ok(verdict_r, 201, "draft a verdict")
expect(verdict.status == VerdictStatus.DRAFT, "a new verdict is a draft")

# A stale If-Match is refused (412), naming the current version.
r = submit_verdict.sync_detailed(verdict.id, client=editor, body=TransitionInput(), if_match='"999"')
expect(r.status_code == 412 and isinstance(r.parsed, Problem), f"submit with a stale If-Match is 412 (got {r.status_code})")
expect(r.parsed.current_version == verdict.version, "the 412 names the current version")

submitted_r = submit_verdict.sync_detailed(verdict.id, client=editor, body=TransitionInput(), if_match=verdict_r.headers["etag"])
submitted = ok(submitted_r, 200, "submit for review")
expect(submitted.status == VerdictStatus.IN_REVIEW, "submitted verdicts are in review")

r = publish_verdict.sync_detailed(verdict.id, client=editor, body=TransitionInput(), if_match=submitted_r.headers["etag"])
expect(r.status_code == 403, f"an editor without the reviewer role cannot publish (got {r.status_code})")

published_r = publish_verdict.sync_detailed(
    verdict.id, client=reviewer, body=TransitionInput(reason="checked against the register"), if_match=submitted_r.headers["etag"]
)
published = ok(published_r, 200, "publish, by another account with the reviewer role")
expect(published.status == VerdictStatus.PUBLISHED, "the verdict is published")
expect(published.reviewer_id is not None, "the reviewer is recorded")
log_seq = published_r.headers["log-seq"]

claim_now = ok(get_claim.sync_detailed(claim.id, client=editor), 200, "read the claim back")
expect(claim_now.id == claim.id, "the claim reads back")

fc_r = get_fact_check.sync_detailed(claim.id, client=public)
factcheck = ok(fc_r, 200, "the public fact check")
expect(isinstance(factcheck, FactCheckOut), "the fact check is typed")
expect(factcheck.claim.statement == statement, "the fact check shows the claim")
expect(factcheck.verdict.id == verdict.id and factcheck.verdict.rating.value == "false", "the fact check shows the published verdict")
expect(len(factcheck.claim.appearances) == 1, "the fact check shows where the claim appeared")
expect("etag" in fc_r.headers, "public reads carry an ETag")
r = get_fact_check.sync_detailed(claim.id, client=public, if_none_match=fc_r.headers["etag"])
expect(r.status_code == 304, f"If-None-Match with the current ETag is 304 (got {r.status_code})")

review = ok(get_claim_review.sync_detailed(claim.id, client=public), 200, "the ClaimReview")
expect(review.type_ == "ClaimReview" and review.claim_reviewed == statement, "a schema.org ClaimReview of the claim")
expect(review.review_rating.alternate_name == "False" and review.review_rating.rating_value == 1, "its rating is False, 1 of 5")
expect(review.url.endswith(f"/factchecks/{claim.id}") and "/v1/" not in review.url, "its url is the fact check's public page")

# The feed, followed from its start, reaches the publication.
after, found, pages = None, None, 0
while found is None and pages < 1000:
    kwargs = {"limit": 100} if after is None else {"limit": 100, "after": after}
    page = ok(get_fact_check_feed.sync_detailed(client=public, **kwargs), 200, "a feed page")
    pages += 1
    for item in page.items:
        if item.claim_id == claim.id:
            found = item
    if page.caught_up and found is None:
        break
    after = page.next_cursor
expect(found is not None, "the feed carries the new fact check")
expect(found.change == FeedChange.PUBLISHED, "as published")
expect(found.factcheck.verdict.id == verdict.id, "with the fact check as published")

print(f"ok: {checks} checks through the generated client (log seq {log_seq})")
