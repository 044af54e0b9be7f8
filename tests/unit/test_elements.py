from qa_agent.devices.discovery import NotEnoughDevices, assign_devices, parse_device_ids
from qa_agent.devices.elements import find_matches, near_misses, parse_elements, targets

# Verbatim shapes from mobile-mcp 1.0.4 (text) and 1.0.2 / format=json.
HEADER = "One element per line: @ref Type text= label= name= value= id= at=x,y size=WxH"
TEXT = (
    HEADER
    + """ [focused] [selected] [checked] [disabled]
@e1 Button text="Sign in" id="com.example:id/login" at=100,200 size=400x100
@e2 EditText label="Email" id="com.example:id/email" at=100,400 size=880x100 focused
@e3 TextView text="Say \\"hi\\"" at=0,0 size=1080x50"""
)
JSON = (
    'Found these elements on screen: [{"ref":"@e1","type":"android.widget.Button","text":"Sign in",'
    '"identifier":"com.example:id/login","coordinates":{"x":100,"y":200,"width":400,"height":100}},'
    '{"type":"android.widget.EditText","text":"","label":"Email","identifier":"com.example:id/email",'
    '"coordinates":{"x":100,"y":400,"width":880,"height":100},"focused":true}]'
)


def test_parse_text_format_with_refs() -> None:
    elements = parse_elements(TEXT)
    assert [e.ref for e in elements] == ["@e1", "@e2", "@e3"]
    assert elements[0].center == (300, 250)
    assert elements[1].label == "Email" and elements[1].focused
    assert elements[2].text == 'Say "hi"'


def test_states_as_mobile_mcp_reports_them() -> None:
    """Flags are bare words after the fields (a text saying "checked" is not one); `checked` shows only
    when set, so "off" is known only for a checkable widget; listings without refs report focus only."""
    listing = (
        HEADER
        + """
@e1 Switch text="Sounds" at=40,400 size=1000x120 checked
@e2 CheckBox text="Vibrate" at=40,560 size=1000x120
@e3 Button text="Save" at=40,1900 size=1000x140 disabled
@e4 TextView text="All checked disabled" at=40,250 size=480x100 selected
@e5 TextView text="Title" at=40,100 size=480x100"""
    )
    sounds, vibrate, save, tab, title = parse_elements(listing)
    assert (sounds.state("checked"), vibrate.state("checked"), title.state("checked")) == (True, False, None)
    assert (save.state("enabled"), sounds.state("enabled"), tab.state("enabled")) == (False, True, True)
    assert (tab.state("selected"), tab.state("checked"), save.state("selected")) == (True, None, False)
    legacy = parse_elements(JSON)
    assert legacy[1].state("focused") is True and legacy[1].state("enabled") is None
    assert parse_elements(JSON)[0].state("enabled") is True  # 1.0.3+ JSON (it has a ref): enabled unless said


def test_parse_json_format_without_refs() -> None:
    elements = parse_elements(JSON)
    assert elements[0].ref == "@e1" and elements[0].identifier == "com.example:id/login"
    assert elements[1].ref is None and elements[1].center == (540, 450)


def test_targets_by_whole_text_label_or_resource_id() -> None:
    elements = parse_elements(TEXT)
    assert targets(elements, "Sign in") == [elements[0]]
    assert targets(elements, "email") == [elements[1]]  # case aside
    assert targets(elements, "login") == [elements[0]]  # resource id, after ":id/"
    assert targets(elements, "SIGN") == []  # part of a text is not a match
    assert targets(elements, "SIGN", "contains") == [elements[0]]
    assert targets(elements, "Nope") == []


def test_visibility_needs_the_whole_text() -> None:
    elements = parse_elements(TEXT)
    assert find_matches(elements, 'say  "HI"')
    assert not find_matches(elements, "say hi")  # punctuation counts
    assert [e.text for e in near_misses(elements, "say hi")] == ['Say "hi"']


def test_device_ids_from_every_format() -> None:
    current = '{"devices":[{"id":"emulator-5554","state":"online"},{"id":"R58","state":"offline"},{"id":"X1"}]}'
    assert parse_device_ids(current) == ["emulator-5554", "X1"]
    legacy = "Found these devices:\nAndroid devices: [emulator-5554, emulator-5556]"
    assert parse_device_ids(legacy) == ["emulator-5554", "emulator-5556"]
    assert parse_device_ids('{"devices":[]}') == []
    assert parse_device_ids("garbage") == []


def test_assignment_honours_forced_devices_and_counts_what_is_missing() -> None:
    got = assign_devices(["a", "b", "c"], 2, {2: "a"}, {1: "p1", 2: None})
    assert [(x.driver, x.device, x.package) for x in got] == [(1, "b", "p1"), (2, "a", None)]
    try:
        assign_devices(["a"], 3, {}, {})
    except NotEnoughDevices as exc:
        assert "needs 3 devices, found 1" in str(exc)
    else:
        raise AssertionError("expected NotEnoughDevices")
    try:
        assign_devices(["a"], 1, {1: "zz"}, {})
    except NotEnoughDevices as exc:
        assert "FORCE_DEVICE_DRIVER1=zz" in str(exc)
    else:
        raise AssertionError("expected NotEnoughDevices")
