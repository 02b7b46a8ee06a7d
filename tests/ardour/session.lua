-- Headless Ardour 7 session work for run.sh, run by ardour7-lua on the dummy backend.
-- Everything comes from the environment (ardour7-lua scripts take no reliable arguments):
--   AS_STEP     "create", "reload", "play" or "midirec" (the plugin's MIDI recorded on a MIDI
--               track during a real-time roll of AS_PLAY_S seconds, and printed)
--   AS_DIR      session directory (its basename is the session name, AS_NAME)
--   AS_NAME     session (snapshot) name
--   AS_RATE     sample rate (create)
--   AS_CHANNELS audio channels of the track (create)
--   AS_PLUGIN   plugin name as Ardour lists it ("Audio Slicer")
--   AS_PLUGIN_TYPE  ARDOUR.PluginType name, VST3 unless set (another type helps debugging)
--   AS_PARAMS   "Title=value;Title=value": values to set (create) or expect (reload), by the
--               parameter's title. A value is the plain number, optionally ":label" (see
--               wanted_value).
--   AS_PLAY_S   seconds to roll the transport in real time (play)
--   AS_SAVE     "1": save the session after the real-time pass (play)
--   AS_CC       the plugin's score controller number (midirec; 21 unless set)
-- Lines starting "AS " are read by run.sh/compare.py; everything else is Ardour's chatter.

local step = os.getenv("AS_STEP")
local dir = os.getenv("AS_DIR")
local name = os.getenv("AS_NAME")
local plugin_name = os.getenv("AS_PLUGIN") or "Audio Slicer"
local TRACK = "Slice"

local function fail(msg)
	print("AS FAIL " .. msg)
	io.stdout:flush()
	-- close the session if one is open so Ardour exits cleanly, then leave non-zero
	pcall(close_session)
	os.exit(1)
end

local function parse_params(spec)
	local out = {}
	for item in string.gmatch(spec or "", "[^;]+") do
		local k, v = string.match(item, "^%s*(.-)%s*=%s*(.-)%s*$")
		if k then out[#out + 1] = { label = k, value = v } end
	end
	return out
end

-- The plugin insert of the Audio Slicer on the track, or nil.
local function find_insert(session)
	local route = session:route_by_name(TRACK)
	if route:isnil() then fail("no track " .. TRACK) end
	local i = 0
	while true do
		local proc = route:nth_plugin(i)
		if proc:isnil() then return route, nil end
		if string.find(proc:display_name(), plugin_name, 1, true) then return route, proc end
		i = i + 1
	end
end

-- Every input control of the plugin: { n = control index for set/get_processor_param,
-- label, lower, upper, normal, enum = { label -> value } }.
local function controls(proc)
	local plug = proc:to_insert():plugin(0)
	local list = {}
	local n = 0
	for j = 0, plug:parameter_count() - 1 do
		if plug:parameter_is_control(j) then
			if plug:parameter_is_input(j) then
				local _, pd = plug:get_parameter_descriptor(j, ARDOUR.ParameterDescriptor())
				local d = pd[2]
				local enum = {}
				for k, v in pairs(ARDOUR.LuaAPI.desc_scale_points(d)) do enum[k] = v end
				list[#list + 1] = { n = n, j = j, label = plug:parameter_label(j),
					lower = d.lower, upper = d.upper, normal = d.normal, enum = enum }
			end
			n = n + 1
		end
	end
	return list
end

local function by_label(list, label)
	for _, c in ipairs(list) do
		if c.label == label then return c end
	end
	local names = {}
	for _, c in ipairs(list) do names[#names + 1] = c.label end
	fail("no parameter '" .. label .. "' (have: " .. table.concat(names, ", ") .. ")")
end

-- A value is "number" or "number:label". The number is the plugin's plain value (what
-- set_processor_param takes). The label documents what an enumeration's number means: Ardour 7
-- gets no scale points for this plugin's VST3 enumerations (they are stepped parameters without
-- kIsList), so it cannot look labels up; if the plugin does give scale points, the label must
-- name the same value.
local function wanted_value(c, text)
	local num, label = string.match(text, "^([^:]*):(.*)$")
	if not num then num = text end
	local v = tonumber(num)
	if v == nil then fail("parameter '" .. c.label .. "': '" .. text .. "' is not number[:label]") end
	if label and next(c.enum) ~= nil and c.enum[label] ~= v then
		fail("parameter '" .. c.label .. "': scale point '" .. label .. "' is " .. tostring(c.enum[label]) .. ", not " .. num)
	end
	return v
end

local function print_controls(proc)
	for _, c in ipairs(controls(proc)) do
		local enum = {}
		for k, v in pairs(c.enum) do enum[#enum + 1] = k .. "=" .. v end
		table.sort(enum)
		print(string.format("AS PARAM %d %q lower=%g upper=%g default=%g value=%.9g%s", c.n, c.label,
			c.lower, c.upper, c.normal, ARDOUR.LuaAPI.get_processor_param(proc, c.n, true),
			#enum > 0 and (" enum{" .. table.concat(enum, ",") .. "}") or ""))
	end
end

local function print_latency(route, proc)
	print(string.format("AS LATENCY plugin=%d route_signal=%d", proc:signal_latency(), route:signal_latency()))
end

-- The dummy backend: no sound card, runs in real time (or freewheels when exporting).
local backend = AudioEngine:set_backend("None (Dummy)", "", "")
if not backend then fail("no dummy backend") end

if step == "create" then
	local rate = tonumber(os.getenv("AS_RATE") or "44100")
	local channels = tonumber(os.getenv("AS_CHANNELS") or "2")
	local session = create_session(dir, name, rate)
	if not session then fail("create_session failed for " .. dir) end
	local tl = session:new_audio_track(channels, channels, nil, 1, TRACK,
		ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
	if tl:size() ~= 1 then fail("new_audio_track failed") end
	local route = session:route_by_name(TRACK)

	local proc = ARDOUR.LuaAPI.new_plugin(session, plugin_name, ARDOUR.PluginType[os.getenv("AS_PLUGIN_TYPE") or "VST3"], "")
	if proc:isnil() then fail("Ardour does not know the VST3 '" .. plugin_name .. "' (was the scanner run?)") end
	if route:add_processor_by_index(proc, 0, nil, true) ~= 0 then fail("add_processor_by_index failed") end
	print("AS PLUGIN " .. proc:display_name() .. " type=" .. proc:to_insert():type() ..
		" unique_id=" .. proc:to_insert():plugin(0):unique_id())
	print_controls(proc)

	local list = controls(proc)
	for _, p in ipairs(parse_params(os.getenv("AS_PARAMS"))) do
		local c = by_label(list, p.label)
		local v = wanted_value(c, p.value)
		if not ARDOUR.LuaAPI.set_processor_param(proc, c.n, v) then fail("could not set " .. p.label) end
		print(string.format("AS SET %q=%s -> %.9g (read back %.9g)", p.label, p.value, v,
			ARDOUR.LuaAPI.get_processor_param(proc, c.n, true)))
	end

	-- Track and master are connected by Ardour's auto-connect thread; wait for it so the saved
	-- session routes the track to the master bus (ardour7-export renders the master).
	local connected = false
	for _ = 1, 100 do
		connected = true
		for c = 0, channels - 1 do
			local to = session:master_out():input():audio(c)
			if to:isnil() or not route:output():audio(c):connected_to(to:name()) then connected = false end
		end
		if connected then break end
		ARDOUR.LuaAPI.usleep(50000)
	end
	if not connected then fail("the track's output never got connected to the master bus") end
	print_latency(route, proc)

	-- Ardour hands a VST3 its parameter changes in the next process() call, and saves the
	-- plugin's own state chunk (IComponent::getState) beside the values; on load the chunk is
	-- applied last. So let the engine run a few cycles before saving, or the chunk holds the
	-- old values and the reload brings those back. AS_SETTLE_MS=0 shows the effect.
	local settle = tonumber(os.getenv("AS_SETTLE_MS") or "1000")
	if settle > 0 then ARDOUR.LuaAPI.usleep(settle * 1000) end

	session:save_state("", false, false, false, false, false)
	print("AS SAVED " .. dir)
	close_session()

elseif step == "reload" or step == "play" then
	local session = load_session(dir, name)
	if not session then fail("load_session failed for " .. dir) end
	local route, proc = find_insert(session)
	if not proc then fail("the saved session has no '" .. plugin_name .. "' on track " .. TRACK) end
	if proc:to_insert():plugin(0):isnil() then fail("the plugin did not load") end
	print("AS PLUGIN " .. proc:display_name() .. " type=" .. proc:to_insert():type() .. " active=" .. tostring(proc:active()))
	print_latency(route, proc)

	if step == "reload" then
		print_controls(proc)
		local list = controls(proc)
		local bad = 0
		for _, p in ipairs(parse_params(os.getenv("AS_PARAMS"))) do
			local c = by_label(list, p.label)
			local want = wanted_value(c, p.value)
			local got = ARDOUR.LuaAPI.get_processor_param(proc, c.n, true)
			local ok = math.abs(got - want) <= 1e-4 * math.max(1, math.abs(want))
			print(string.format("AS CHECK %q want=%.9g got=%.9g %s", p.label, want, got, ok and "ok" or "MISMATCH"))
			if not ok then bad = bad + 1 end
		end
		if bad > 0 then fail(bad .. " parameter(s) did not survive the reload") end
	else
		-- Roll the transport in real time over the region and stop: the plugin must survive
		-- real-time processing on the dummy backend (which runs its process thread at the
		-- session rate). With a latent plugin Ardour first pre-rolls the track by the latency
		-- (the transport position stays at the start meanwhile), so this waits for the
		-- position to reach AS_PLAY_S seconds, and measures how long the pre-roll took.
		local seconds = tonumber(os.getenv("AS_PLAY_S") or "5")
		local rate = session:nominal_sample_rate()
		local target = math.floor(seconds * rate)
		local limit_ms = math.floor((seconds + route:signal_latency() / rate + 20) * 1000)
		session:goto_start(false)
		ARDOUR.LuaAPI.usleep(200000)
		local t0 = os.time()
		session:request_roll(ARDOUR.TransportRequestSource.TRS_UI)
		local waited, moved_ms, pos = 0, nil, 0
		while waited < limit_ms do
			ARDOUR.LuaAPI.usleep(50000)
			waited = waited + 50
			pos = session:transport_sample()
			if pos > 0 and not moved_ms then moved_ms = waited end
			if pos >= target then break end
		end
		session:request_stop(false, false, ARDOUR.TransportRequestSource.TRS_UI)
		ARDOUR.LuaAPI.usleep(300000)
		print(string.format("AS PLAYED rolled_to=%d samples (%.2f s) of %d; the position started moving after %s ms " ..
			"(the latency pre-roll); wall %d s; rolling after stop: %s",
			pos, pos / rate, target, tostring(moved_ms), os.time() - t0, tostring(session:transport_rolling())))
		if pos < target then fail("the transport did not roll to " .. seconds .. " s within " .. limit_ms .. " ms") end
		if os.getenv("AS_SAVE") == "1" then
			-- Timeline analysis goes into the plugin's state half a second after the input
			-- stops; then the project is saved with it.
			ARDOUR.LuaAPI.usleep(1500000)
			session:save_state("", false, false, false, false, false)
			print("AS SAVED " .. dir)
		end
	end
	close_session()

elseif step == "midirec" then
	-- The plugin's MIDI out (the score CC and a note per cut) recorded on a MIDI track during a
	-- real-time roll, then read back: "AS NOTE" and "AS CC" lines in timeline samples. Nothing
	-- is saved: the session on disk is left as it was.
	local session = load_session(dir, name)
	if not session then fail("load_session failed for " .. dir) end
	local route, proc = find_insert(session)
	if not proc then fail("the saved session has no '" .. plugin_name .. "' on track " .. TRACK) end
	print_latency(route, proc)
	local MIDI = ARDOUR.DataType("midi")
	-- Ardour gives the track a MIDI output port of its own because the plugin outputs MIDI
	-- (its tracks made from Lua are not strict I/O).
	local out = route:output():midi(0)
	if out:isnil() then fail("the track has no MIDI output") end
	local tracks = session:new_midi_track(ARDOUR.ChanCount(MIDI, 1), ARDOUR.ChanCount(MIDI, 1), true,
		ARDOUR.PluginInfo(), nil, nil, 1, "Cuts", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, false)
	if tracks:size() ~= 1 then fail("new_midi_track failed") end
	local midi_track
	for t in tracks:iter() do midi_track = t end
	midi_track:input():disconnect_all(nil)
	if midi_track:input():connect(midi_track:input():midi(0), out:name(), nil) ~= 0 then
		fail("cannot connect " .. out:name() .. " to the MIDI track")
	end
	ARDOUR.LuaAPI.usleep(200000)
	if not midi_track:input():midi(0):connected_to(out:name()) then fail("the MIDI track does not hear " .. out:name()) end
	local arm = midi_track:rec_enable_control()
	arm:set_value(1, PBD.GroupControlDisposition.NoGroup)
	for _ = 1, 40 do
		if arm:get_value() == 1 then break end
		ARDOUR.LuaAPI.usleep(50000)
	end
	if arm:get_value() ~= 1 then fail("cannot arm the MIDI track") end
	local seconds = tonumber(os.getenv("AS_PLAY_S") or "5")
	local rate = session:nominal_sample_rate()
	local target = math.floor(seconds * rate)
	session:goto_start(false)
	ARDOUR.LuaAPI.usleep(200000)
	session:maybe_enable_record(false)
	session:request_roll(ARDOUR.TransportRequestSource.TRS_UI)
	local waited, recording, pos = 0, false, 0
	local limit_ms = math.floor((seconds + route:signal_latency() / rate + 20) * 1000)
	while waited < limit_ms do
		ARDOUR.LuaAPI.usleep(50000)
		waited = waited + 50
		recording = recording or session:actively_recording()
		pos = session:transport_sample()
		if pos >= target then break end
	end
	-- Not an abort: the take is kept.
	session:request_stop(false, false, ARDOUR.TransportRequestSource.TRS_UI)
	local playlist = midi_track:playlist()
	for _ = 1, 100 do
		if not session:transport_rolling() and playlist:n_regions() > 0 then break end
		ARDOUR.LuaAPI.usleep(50000)
	end
	ARDOUR.LuaAPI.usleep(500000)
	session:disable_record(false, false)
	print(string.format("AS RECORDED rolled_to=%d recording=%s regions=%d xruns=%d", pos, tostring(recording),
		playlist:n_regions(), session:get_xrun_count()))
	if playlist:n_regions() == 0 then fail("no MIDI region was recorded") end
	local tempo_map = Temporal.TempoMap.read()
	local cc = tonumber(os.getenv("AS_CC") or "21")
	for r in playlist:region_list():iter() do
		local mr = r:to_midiregion()
		if not mr:isnil() then
			-- Note times are beats from the start of the region's source.
			local source_q = tempo_map:quarters_at(r:position()) - r:start():beats()
			local function sample(b) return tempo_map:sample_at_beats(source_q + b) end
			for n in ARDOUR.LuaAPI.note_list(mr:model()):iter() do
				print(string.format("AS NOTE start=%d end=%d channel=%d key=%d", sample(n:time()),
					sample(n:time() + n:length()), n:channel(), n:note()))
			end
			local control = mr:control(Evoral.Parameter(ARDOUR.AutomationType.MidiCCAutomation, 0, cc), false)
			if not control:isnil() then
				for ev in control:list():events():iter() do
					print(string.format("AS CC at=%d value=%d", sample(ev.when:beats()), math.floor(ev.value + 0.5)))
				end
			end
		end
	end
	close_session()
else
	fail("unknown AS_STEP " .. tostring(step))
end
print("AS OK " .. step)
quit()
