"""Tool definitions advertised by the embedded server.

Names, titles, descriptions, inputSchemas, annotations and meta tags are the
verbatim ``tools/list`` entries of mcp-atlassian 0.23.1 (captured in
``shared/research/mcp-atlassian-0.23.1-tools-list.json``), so an agent written
against the real server sees exactly the same contract.  Generated data: do not
hand-edit; compare with the captured JSON instead.
"""

from __future__ import annotations

from typing import Any

# The default ``fields`` value as advertised (a Python set joined with ',' upstream, so its
# order is whatever the captured process produced).
DEFAULT_FIELDS_PARAM = "labels,created,description,status,priority,updated,versions,summary,assignee,reporter,issuetype"

OUTPUT_SCHEMA: dict[str, Any] = {
    "properties": {"result": {"type": "string"}},
    "required": ["result"],
    "type": "object",
    "x-fastmcp-wrap-result": True,
}

TOOL_SPECS: dict[str, dict[str, Any]] = {
    "jira_get_issue": {
        "name": "jira_get_issue",
        "title": "Get Issue",
        "description": "Get details of a specific Jira issue.\n"
        "\n"
        "Includes Epic links and relationship information. Use the\n"
        "``include`` parameter to inline enrichments (remote_links,\n"
        "transitions, watchers, changelog, comments, worklogs) so that\n"
        "separate tool calls are not needed.",
        "inputSchema": {
            "additionalProperties": False,
            "properties": {
                "issue_key": {
                    "description": "Jira issue key (e.g., 'PROJ-123', 'ACV2-642')",
                    "pattern": "^[A-Z][A-Z0-9_]+-\\d+(?:-\\d+)*$",
                    "type": "string",
                },
                "fields": {
                    "default": DEFAULT_FIELDS_PARAM,
                    "description": "(Optional) Comma-separated list of "
                    "fields to return (e.g., "
                    "'summary,status,customfield_10010'). "
                    "You may also provide a single field as "
                    "a string (e.g., 'duedate'). Use '*all' "
                    "for all fields (including custom "
                    "fields), or omit for essential fields "
                    "only.",
                    "type": "string",
                },
                "expand": {
                    "default": None,
                    "description": "(Optional) Fields to expand. Examples: "
                    "'renderedFields' (for rendered "
                    "content), 'transitions' (for available "
                    "status transitions), 'changelog' (for "
                    "history)",
                    "type": "string",
                },
                "comment_limit": {
                    "default": 10,
                    "description": "Maximum number of comments to include (0 or null for no comments)",
                    "maximum": 100,
                    "minimum": 0,
                    "type": "integer",
                },
                "properties": {
                    "description": "(Optional) A comma-separated list of issue properties to return",
                    "default": None,
                    "type": "string",
                },
                "update_history": {
                    "default": True,
                    "description": "Whether to update the issue view history for the requesting user",
                    "type": "boolean",
                },
                "include": {
                    "default": None,
                    "description": "(Optional) Comma-separated sections to "
                    "inline in the response, avoiding extra "
                    "tool calls. Supported: all, "
                    "remote_links, transitions, watchers, "
                    "changelog, comments, worklogs",
                    "type": "string",
                },
                "use_display_names": {
                    "default": False,
                    "description": "When true, custom field keys "
                    "in the output use "
                    "human-readable display names "
                    "(e.g. 'Story Points') "
                    "instead of opaque IDs (e.g. "
                    "'customfield_10243'). The "
                    "'names' expansion is added "
                    "automatically. Standard "
                    "fields are unaffected.",
                    "type": "boolean",
                },
            },
            "required": ["issue_key"],
            "type": "object",
        },
        "annotations": {"title": "Get Issue", "readOnlyHint": True},
        "meta": {"fastmcp": {"tags": ["jira", "read", "toolset:jira_issues"]}},
    },
    "jira_search": {
        "name": "jira_search",
        "title": "Search Issues",
        "description": "Search Jira issues using JQL (Jira Query Language).",
        "inputSchema": {
            "additionalProperties": False,
            "properties": {
                "jql": {
                    "description": "JQL query string (Jira Query Language). "
                    "Examples:\n"
                    '- Find Epics: "issuetype = Epic AND '
                    'project = PROJ"\n'
                    '- Find issues in Epic: "parent = '
                    'PROJ-123"\n'
                    "- Find by status: \"status = 'In "
                    "Progress' AND project = PROJ\"\n"
                    '- Find by assignee: "assignee = '
                    'currentUser()"\n'
                    '- Find recently updated: "updated >= -7d '
                    'AND project = PROJ"\n'
                    '- Find by label: "labels = frontend AND '
                    'project = PROJ"\n'
                    '- Find by priority: "priority = High AND '
                    'project = PROJ"',
                    "type": "string",
                },
                "fields": {
                    "default": DEFAULT_FIELDS_PARAM,
                    "description": "(Optional) Comma-separated fields to "
                    "return in the results. Use '*all' for "
                    "all fields, or specify individual "
                    "fields like "
                    "'summary,status,assignee,priority'",
                    "type": "string",
                },
                "limit": {
                    "default": 10,
                    "description": "Maximum number of results (1-50)",
                    "minimum": 1,
                    "type": "integer",
                },
                "start_at": {
                    "default": 0,
                    "description": "Starting index for pagination (0-based)",
                    "minimum": 0,
                    "type": "integer",
                },
                "projects_filter": {
                    "default": None,
                    "description": "(Optional) Comma-separated "
                    "list of project keys to filter "
                    "results by. Overrides the "
                    "environment variable "
                    "JIRA_PROJECTS_FILTER if "
                    "provided.",
                    "type": "string",
                },
                "expand": {
                    "default": None,
                    "description": "(Optional) fields to expand. Examples: "
                    "'renderedFields', 'transitions', "
                    "'changelog'",
                    "type": "string",
                },
                "page_token": {
                    "default": None,
                    "description": "(Optional) Pagination token from a "
                    "previous search result. Cloud only "
                    "— Server/DC uses start_at for "
                    "pagination.",
                    "type": "string",
                },
                "use_display_names": {
                    "default": False,
                    "description": "When true, custom field keys "
                    "in the output use "
                    "human-readable display names "
                    "(e.g. 'Story Points') "
                    "instead of opaque IDs (e.g. "
                    "'customfield_10243'). The "
                    "'names' expansion is added "
                    "automatically. Standard "
                    "fields are unaffected.",
                    "type": "boolean",
                },
            },
            "required": ["jql"],
            "type": "object",
        },
        "annotations": {"title": "Search Issues", "readOnlyHint": True},
        "meta": {"fastmcp": {"tags": ["jira", "read", "toolset:jira_issues"]}},
    },
    "jira_add_comment": {
        "name": "jira_add_comment",
        "title": "Add Comment",
        "description": "Add a comment to a Jira issue.",
        "inputSchema": {
            "additionalProperties": False,
            "properties": {
                "issue_key": {
                    "description": "Jira issue key (e.g., 'PROJ-123', 'ACV2-642')",
                    "pattern": "^[A-Z][A-Z0-9_]+-\\d+(?:-\\d+)*$",
                    "type": "string",
                },
                "body": {"description": "Comment text in Markdown format", "type": "string"},
                "visibility": {
                    "default": None,
                    "description": "(Optional) Comment visibility as "
                    "JSON string (e.g. "
                    '\'{"type":"group","value":"jira-users"}\')',
                    "type": "string",
                },
                "public": {
                    "default": None,
                    "description": "(Optional) For JSM/Service Desk issues "
                    "only. Set to true for customer-visible "
                    "comment, false for internal agent-only "
                    "comment. Posted via the ServiceDesk API "
                    "as a raw string; Jira Cloud renders it "
                    "server-side and stores ADF (markdown "
                    "observed to render on Cloud, without "
                    "the client-side markdown-to-ADF "
                    "guarantees of the regular comment "
                    "path). Cannot be combined with "
                    "visibility. If the issue's project is "
                    "listed in JIRA_INTERNAL_ONLY_PROJECTS, "
                    "only public=false is accepted — "
                    "public=true or omitting this field is "
                    "rejected.",
                    "type": "boolean",
                },
            },
            "required": ["issue_key", "body"],
            "type": "object",
        },
        "annotations": {"title": "Add Comment", "destructiveHint": False},
        "meta": {"fastmcp": {"tags": ["jira", "toolset:jira_comments", "write"]}},
    },
    "jira_get_transitions": {
        "name": "jira_get_transitions",
        "title": "Get Transitions",
        "description": "Get available status transitions for a Jira issue.",
        "inputSchema": {
            "additionalProperties": False,
            "properties": {
                "issue_key": {
                    "description": "Jira issue key (e.g., 'PROJ-123', 'ACV2-642')",
                    "pattern": "^[A-Z][A-Z0-9_]+-\\d+(?:-\\d+)*$",
                    "type": "string",
                }
            },
            "required": ["issue_key"],
            "type": "object",
        },
        "annotations": {"title": "Get Transitions", "readOnlyHint": True},
        "meta": {"fastmcp": {"tags": ["jira", "read", "toolset:jira_transitions"]}},
    },
    "jira_transition_issue": {
        "name": "jira_transition_issue",
        "title": "Transition Issue",
        "description": "Transition a Jira issue to a new status.",
        "inputSchema": {
            "additionalProperties": False,
            "properties": {
                "issue_key": {
                    "description": "Jira issue key (e.g., 'PROJ-123', 'ACV2-642')",
                    "pattern": "^[A-Z][A-Z0-9_]+-\\d+(?:-\\d+)*$",
                    "type": "string",
                },
                "transition_id": {
                    "description": "ID of the transition to perform. "
                    "Use the jira_get_transitions "
                    "tool first to get the available "
                    "transition IDs for the issue. "
                    "Example values: '11', '21', '31'",
                    "type": "string",
                },
                "fields": {
                    "default": None,
                    "description": "(Optional) JSON string of fields to "
                    "update during the transition. Some "
                    "transitions require specific fields to "
                    "be set (e.g., resolution). Example: "
                    '\'{"resolution": {"name": "Fixed"}}\'',
                    "type": "string",
                },
                "comment": {
                    "default": None,
                    "description": "(Optional) Comment to add during the "
                    "transition in Markdown format. This "
                    "will be visible in the issue history. "
                    "Rejected for projects listed in "
                    "JIRA_INTERNAL_ONLY_PROJECTS (a "
                    "transition comment may be "
                    "customer-visible on JSM and cannot be "
                    "forced internal): transition without a "
                    "comment, then post an internal note "
                    "with jira_add_comment(public=false).",
                    "type": "string",
                },
            },
            "required": ["issue_key", "transition_id"],
            "type": "object",
        },
        "annotations": {"title": "Transition Issue", "destructiveHint": True},
        "meta": {"fastmcp": {"tags": ["jira", "toolset:jira_transitions", "write"]}},
    },
    "jira_search_fields": {
        "name": "jira_search_fields",
        "title": "Search Fields",
        "description": "Search Jira fields by keyword with fuzzy match.",
        "inputSchema": {
            "additionalProperties": False,
            "properties": {
                "keyword": {
                    "default": "",
                    "description": "Keyword for fuzzy search. If left "
                    "empty, lists the first 'limit' "
                    "available fields in their default "
                    "order.",
                    "type": "string",
                },
                "limit": {
                    "default": 10,
                    "description": "Maximum number of results",
                    "minimum": 1,
                    "type": "integer",
                },
                "refresh": {
                    "default": False,
                    "description": "Whether to force refresh the field list",
                    "type": "boolean",
                },
            },
            "type": "object",
        },
        "annotations": {"title": "Search Fields", "readOnlyHint": True},
        "meta": {"fastmcp": {"tags": ["jira", "read", "toolset:jira_fields"]}},
    },
}

# The other read tools of the default toolsets, and jira_update_issue (labels and attachments here).
TOOL_SPECS["jira_get_field_options"] = {
    "name": "jira_get_field_options",
    "title": "Get Field Options",
    "description": "Get allowed option values for a custom field.\n"
    "\n"
    "Returns the list of valid options for select, multi-select, radio,\n"
    "checkbox, and cascading select custom fields.\n"
    "\n"
    "Cloud: Uses the Field Context Option API. If context_id is not provided,\n"
    "automatically resolves to the global context.\n"
    "\n"
    "Server/DC: Uses createmeta to get allowedValues. Requires project_key\n"
    "and issue_type parameters.",
    "inputSchema": {
        "additionalProperties": False,
        "properties": {
            "field_id": {
                "description": "Custom field ID (e.g., 'customfield_10001'). Use jira_search_fields to find field IDs.",
                "type": "string",
            },
            "context_id": {
                "default": None,
                "description": "Field context ID (Cloud only). If omitted, auto-resolves to the global context.",
                "type": "string",
            },
            "project_key": {
                "default": None,
                "description": "Project key (required for Server/DC). Example: 'PROJ'",
                "type": "string",
            },
            "issue_type": {
                "default": None,
                "description": "Issue type name (required for Server/DC). Example: 'Bug'",
                "type": "string",
            },
            "contains": {
                "default": None,
                "description": "Case-insensitive substring filter on option "
                "values. Also matches child values in cascading "
                "selects.",
                "type": "string",
            },
            "return_limit": {
                "default": None,
                "description": "Maximum number of results to return (applied after filtering).",
                "minimum": 1,
                "type": "integer",
            },
            "values_only": {
                "default": False,
                "description": "If true, return only value strings in a "
                "compact JSON format instead of full option "
                "objects.",
                "type": "boolean",
            },
        },
        "required": ["field_id"],
        "type": "object",
    },
    "annotations": {"title": "Get Field Options", "readOnlyHint": True},
    "meta": {"fastmcp": {"tags": ["jira", "read", "toolset:jira_fields"]}},
}

TOOL_SPECS["jira_get_project_issues"] = {
    "name": "jira_get_project_issues",
    "title": "Get Project Issues",
    "description": "Get all issues for a specific Jira project.",
    "inputSchema": {
        "additionalProperties": False,
        "properties": {
            "project_key": {
                "description": "Jira project key (e.g., 'PROJ', 'ACV2')",
                "pattern": "^[A-Z][A-Z0-9_]+$",
                "type": "string",
            },
            "limit": {
                "default": 10,
                "description": "Maximum number of results (1-50)",
                "maximum": 50,
                "minimum": 1,
                "type": "integer",
            },
            "start_at": {
                "default": 0,
                "description": "Starting index for pagination (0-based)",
                "minimum": 0,
                "type": "integer",
            },
        },
        "required": ["project_key"],
        "type": "object",
    },
    "annotations": {"title": "Get Project Issues", "readOnlyHint": True},
    "meta": {"fastmcp": {"tags": ["jira", "read", "toolset:jira_issues"]}},
}

TOOL_SPECS["jira_batch_get_changelogs"] = {
    "name": "jira_batch_get_changelogs",
    "title": "Batch Get Changelogs",
    "description": "Get changelogs for multiple Jira issues (Cloud only).",
    "inputSchema": {
        "additionalProperties": False,
        "properties": {
            "issue_ids_or_keys": {
                "description": "Comma-separated list of Jira issue IDs or keys (e.g. 'PROJ-123,PROJ-124')",
                "type": "string",
            },
            "fields": {
                "default": None,
                "description": "(Optional) Comma-separated list of fields to "
                "filter changelogs by (e.g. 'status,assignee'). "
                "Default to None for all fields.",
                "type": "string",
            },
            "limit": {
                "default": -1,
                "description": "Maximum number of changelogs to return in result "
                "for each issue. Default to -1 for all changelogs. "
                "Notice that it only limits the results in the "
                "response, the function will still fetch all the "
                "data.",
                "type": "integer",
            },
        },
        "required": ["issue_ids_or_keys"],
        "type": "object",
    },
    "annotations": {"title": "Batch Get Changelogs", "readOnlyHint": True},
    "meta": {"fastmcp": {"tags": ["jira", "read", "toolset:jira_issues"]}},
}

TOOL_SPECS["jira_update_issue"] = {
    "name": "jira_update_issue",
    "title": "Update Issue",
    "description": "Update an existing Jira issue including changing status, adding Epic links, updating fields, etc.",
    "inputSchema": {
        "additionalProperties": False,
        "properties": {
            "issue_key": {
                "description": "Jira issue key (e.g., 'PROJ-123', 'ACV2-642')",
                "pattern": "^[A-Z][A-Z0-9_]+-\\d+(?:-\\d+)*$",
                "type": "string",
            },
            "fields": {
                "description": "JSON string of fields to update. For 'assignee', "
                "provide a string identifier (email, name, or "
                "accountId). For 'description', provide text in "
                "Markdown format; on Jira Cloud, use "
                "'{expand:Title}...{expand}' for a collapsible "
                'section. Example: \'{"assignee": '
                '"user@example.com", "summary": "New Summary", '
                '"description": "## Updated\\nMarkdown text"}\'',
                "type": "string",
            },
            "additional_fields": {
                "default": None,
                "description": "(Optional) JSON string of additional "
                "fields to update. Use this for custom "
                "fields or more complex updates. Link "
                'to epic: {"epicKey": "EPIC-123"} or '
                '{"epic_link": "EPIC-123"}.',
                "type": "string",
            },
            "components": {
                "default": None,
                "description": "(Optional) Comma-separated list of component names (e.g., 'Frontend,API')",
                "type": "string",
            },
            "attachments": {
                "default": None,
                "description": "(Optional) JSON string array or "
                "comma-separated list of file paths to attach "
                "to the issue. Example: "
                "'/path/to/file1.txt,/path/to/file2.txt' or "
                "['/path/to/file1.txt','/path/to/file2.txt']",
                "type": "string",
            },
            "return_fields": {
                "default": "*all",
                "description": "(Optional) Controls which fields of the "
                "updated issue are returned, to reduce "
                "response size and token usage. Defaults to "
                "'*all' (the complete issue, which can be "
                "very large). TOKEN-SAVING TIP: after an "
                "update you usually do NOT need the whole "
                "issue back. Pass a comma-separated list of "
                "just the field(s) you care about (e.g., "
                "'summary,duedate'), or a single light "
                "field such as 'status' for a minimal "
                "confirmation - this can cut the response "
                "by thousands of tokens. The issue 'key' is "
                "always returned regardless. If you later "
                "need other fields, fetch them on demand "
                "with jira_get_issue (which also supports "
                "field filtering). Use '*all' only when you "
                "genuinely need the full updated issue.",
                "type": "string",
            },
        },
        "required": ["issue_key", "fields"],
        "type": "object",
    },
    "annotations": {"title": "Update Issue", "destructiveHint": True},
    "meta": {"fastmcp": {"tags": ["jira", "toolset:jira_issues", "write"]}},
}
